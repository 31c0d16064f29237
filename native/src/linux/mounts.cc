#include "mounts.h"

#include <set>
#include <sstream>

namespace gatehouse {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() && field[i + 1] >= '0' && field[i + 1] <= '7') {
      out.push_back(
          char((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 + (field[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(field[i]);
    }
  }
  return out;
}

}  // namespace

std::vector<MountEntry> ParseMountInfo(const std::string& text) {
  std::vector<MountEntry> mounts;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string id, parent, device, root, mount_point, options, field;
    if (!(fields >> id >> parent >> device >> root >> mount_point >> options)) continue;
    while (fields >> field && field != "-") {
    }
    MountEntry entry;
    if (!(fields >> entry.fstype)) continue;
    const size_t colon = device.find(':');
    if (colon == std::string::npos) continue;
    entry.major = uint32_t(std::stoul(device.substr(0, colon)));
    entry.minor = uint32_t(std::stoul(device.substr(colon + 1)));
    entry.mount_point = Unescape(mount_point);
    std::istringstream option_list(options);
    std::string option;
    while (std::getline(option_list, option, ',')) {
      if (option == "noexec") entry.noexec = true;
    }
    mounts.push_back(std::move(entry));
  }
  return mounts;
}

bool IsLocalExecutableFilesystem(const std::string& fstype) {
  static const std::set<std::string> kLocal = {
      "ext2",    "ext3",     "ext4",  "xfs",      "btrfs",    "tmpfs",   "vfat", "exfat",
      "f2fs",    "jfs",      "zfs",   "overlay",  "squashfs", "iso9660", "ntfs", "ntfs3",
      "hfsplus", "bcachefs", "erofs", "reiserfs", "udf",      "fuseblk"};
  return kLocal.count(fstype) > 0;
}

}  // namespace gatehouse
