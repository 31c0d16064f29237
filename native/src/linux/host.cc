// core/host.h on Linux: /proc (never watched, so reading it cannot wait on ourselves) and xattrs.
#include "../core/host.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace gatehouse {

Credentials ReadCredentials(int32_t pid) {
  Credentials credentials;
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/status", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return credentials;
  char buffer[4096];
  ssize_t n = read(fd, buffer, sizeof(buffer) - 1);
  close(fd);
  if (n <= 0) return credentials;
  buffer[n] = '\0';
  if (const char* line = strstr(buffer, "\nPPid:")) credentials.ppid = atoi(line + 6);
  if (const char* line = strstr(buffer, "\nUid:"))
    credentials.uid = uint32_t(strtoul(line + 5, nullptr, 10));
  if (const char* line = strstr(buffer, "\nGid:"))
    credentials.gid = uint32_t(strtoul(line + 5, nullptr, 10));
  return credentials;
}

uint64_t MountNamespace(int32_t pid) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/ns/mnt", pid);
  struct stat st;
  return stat(path, &st) == 0 ? uint64_t(st.st_ino) : 0;
}

std::string PathOfFd(int fd) {
  char link[64], target[4096];
  snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof(target) - 1);
  if (n < 0) return std::string();
  return std::string(target, size_t(n));
}

bool UserWritable(int fd, const struct stat& st) {
  if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) return true;
  // An access ACL can grant write to anyone; its mask shows in the group bits, but only when set.
  return fgetxattr(fd, "system.posix_acl_access", nullptr, 0) > 0;
}

bool ReadPeerCredentials(int fd, PeerIdentity* peer, std::string* error) {
  struct ucred credentials;
  socklen_t length = sizeof(credentials);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) {
    *error = std::string("SO_PEERCRED failed: ") + strerror(errno);
    return false;
  }
  peer->pid = credentials.pid;
  peer->uid = credentials.uid;
  peer->gid = credentials.gid;
  return true;
}

}  // namespace gatehouse
