// SHA-256 of a file (and its MD5 when a package's claim must be checked, from the same reads),
// read a slice at a time so that one large file never holds a hash worker for long.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "md5.h"
#include "sha256.h"

namespace gatehouse {

// Small enough that a file waiting behind busy workers waits well under a millisecond per slice.
constexpr size_t kHashSliceBytes = 256 << 10;

struct FileHash {
  Sha256 sha256;
  Md5 md5;
  bool with_md5 = false;
  uint64_t offset = 0;  // bytes read so far
  std::string error;    // set when reading failed

  // Reads up to one slice from fd; true when the file has been read to its end (or failed).
  bool ReadSlice(int fd, const std::atomic<bool>& stopping);
};

}  // namespace gatehouse
