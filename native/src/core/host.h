// What the operating system tells the authorizer about processes and files. Declared here,
// implemented once per OS (linux/host.cc), so the authorizer itself reads no /proc and no
// OS-specific stat fields.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>

#include "event_source.h"

namespace gatehouse {

// Parent, real uid and gid of a process; zeros when it is gone.
Credentials ReadCredentials(int32_t pid);

// An identifier of the mount namespace a process sees files through; 0 when unknown.
uint64_t MountNamespace(int32_t pid);

// The path of an open file as this process sees it; empty when unknown.
std::string PathOfFd(int fd);

// A local user other than root may be able to change the file's content.
bool UserWritable(int fd, const struct stat& st);

struct PeerIdentity {
  std::optional<int32_t> pid;  // not every OS says
  uint32_t uid = 0;
  uint32_t gid = 0;
};

// Who is at the other end of a connected Unix socket, as the kernel says.
bool ReadPeerCredentials(int fd, PeerIdentity* peer, std::string* error);

// Nanoseconds of a stat time.
inline int64_t Nanos(const timespec& ts) {
  return int64_t(ts.tv_sec) * 1000000000ll + ts.tv_nsec;
}

}  // namespace gatehouse
