// core/host.h on macOS. Only what the binding needs off the exec path today; the Endpoint
// Security backend brings the rest (its messages carry credentials, paths and signing facts).
#include "../core/host.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace gatehouse {

bool ReadPeerCredentials(int fd, PeerIdentity* peer, std::string* error) {
  uid_t uid;
  gid_t gid;
  if (getpeereid(fd, &uid, &gid) != 0) {
    *error = std::string("getpeereid failed: ") + strerror(errno);
    return false;
  }
  peer->uid = uid;
  peer->gid = gid;
  return true;
}

}  // namespace gatehouse
