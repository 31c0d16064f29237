#include "file_hash.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace gatehouse {

bool FileHash::ReadSlice(int fd, const std::atomic<bool>& stopping) {
  static thread_local std::vector<uint8_t> buffer(kHashSliceBytes);
  size_t read_now = 0;
  while (read_now < kHashSliceBytes) {
    if (stopping) {
      error = "read failed: the monitor is stopping";
      return true;
    }
    const ssize_t n = pread(fd, buffer.data(), kHashSliceBytes - read_now, off_t(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      error = std::string("read failed: ") + strerror(errno);
      return true;
    }
    if (n == 0) return true;
    sha256.Update(buffer.data(), size_t(n));
    if (with_md5) md5.Update(buffer.data(), size_t(n));
    offset += uint64_t(n);
    read_now += size_t(n);
  }
  return false;
}

}  // namespace gatehouse
