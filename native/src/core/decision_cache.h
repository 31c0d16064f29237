// Verdicts remembered per file, keyed by (dev, inode) as the kernel's ignore marks are. An entry
// counts only while the file's size, mtime and ctime still match it; a flush says why it happened,
// and each reason is counted (Santa's AuthResultCache knows why it was flushed too).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "policy.h"

namespace gatehouse {

struct FileKey {
  uint64_t dev, inode, size;
  int64_t mtime_ns, ctime_ns;
  bool operator==(const FileKey& o) const {
    return dev == o.dev && inode == o.inode && size == o.size && mtime_ns == o.mtime_ns &&
           ctime_ns == o.ctime_ns;
  }
};

struct FileKeyHash {
  size_t operator()(const FileKey& k) const noexcept {
    return std::hash<uint64_t>()(k.inode * 31 + k.dev) ^ std::hash<int64_t>()(k.mtime_ns);
  }
};

enum class FlushReason : uint8_t { kRules, kMode, kScopes, kPackages, kRequested, kRootWrite };
constexpr size_t kFlushReasonCount = 6;
const char* FlushReasonName(FlushReason reason);

class DecisionCache {
 public:
  struct Entry {
    FileKey key;
    Verdict verdict;
    Digest sha256;
    uint64_t expires_ns;  // 0: until forgotten or flushed
    // When path scopes are set, the verdict holds for the path it was made on only.
    bool path_bound = false;
    std::string scope_path;
  };

  explicit DecisionCache(size_t capacity) : capacity_(capacity) {}

  // The entry for this file while it still describes it and has not expired.
  std::optional<Entry> Find(const FileKey& key, uint64_t now_ns);
  void Put(Entry entry);
  void Forget(uint64_t dev, uint64_t inode);
  void Flush(FlushReason reason);

  uint64_t flushes() const;
  std::array<uint64_t, kFlushReasonCount> flushes_by_reason() const;

 private:
  struct DevInode {
    uint64_t dev, inode;
    bool operator==(const DevInode& o) const { return dev == o.dev && inode == o.inode; }
  };
  struct DevInodeHash {
    size_t operator()(const DevInode& k) const noexcept {
      return k.inode * 0x9E3779B97F4A7C15ull ^ k.dev;
    }
  };

  const size_t capacity_;
  std::mutex mutex_;
  std::unordered_map<DevInode, Entry, DevInodeHash> entries_;
  std::array<std::atomic<uint64_t>, kFlushReasonCount> flushes_{};
};

}  // namespace gatehouse
