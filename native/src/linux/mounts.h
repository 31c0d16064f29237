// Which filesystems can hold executables, read from /proc/self/mountinfo.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gatehouse {

struct MountEntry {
  std::string mount_point;
  std::string fstype;
  uint32_t major = 0;
  uint32_t minor = 0;
  bool noexec = false;
};

std::vector<MountEntry> ParseMountInfo(const std::string& text);

// Local, disk- or memory-backed filesystems an executable can live on.
bool IsLocalExecutableFilesystem(const std::string& fstype);

}  // namespace gatehouse
