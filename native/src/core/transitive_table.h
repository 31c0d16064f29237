// Transitive allows (Santa's ALLOWLIST_TRANSITIVE): files a compiler wrote on this machine. Each is
// keyed by the file (dev, inode) and its content's SHA-256 together, so a rename keeps it, while a
// copy (a new inode, written by a non-compiler) or changed content does not match. Bounded: when
// full, the entry used longest ago makes room.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "sha256.h"

namespace gatehouse {

struct TransitiveEntry {
  uint64_t dev = 0;
  uint64_t inode = 0;
  Digest sha256{};
  std::string compiler;  // the path of the compiler that wrote it, as it ran
  Digest compiler_sha256{};
  uint64_t created_ms = 0;    // wall clock
  uint64_t last_used_ms = 0;  // wall clock: minted or last allowed an exec
};

class TransitiveTable {
 public:
  explicit TransitiveTable(size_t capacity) : capacity_(capacity ? capacity : 1) {}

  // Adds or replaces the entry for its file; true when an older entry had to be dropped.
  bool Put(TransitiveEntry entry) {
    std::lock_guard<std::mutex> lock(mutex_);
    const uint64_t key = Key(entry.dev, entry.inode);
    bool dropped = false;
    if (!entries_.count(key) && entries_.size() >= capacity_) {
      auto oldest = entries_.begin();
      for (auto it = entries_.begin(); it != entries_.end(); ++it) {
        if (it->second.last_used_ms < oldest->second.last_used_ms) oldest = it;
      }
      entries_.erase(oldest);
      dropped = true;
    }
    entries_[key] = std::move(entry);
    return dropped;
  }

  bool Remove(uint64_t dev, uint64_t inode) {
    std::lock_guard<std::mutex> lock(mutex_);
    return entries_.erase(Key(dev, inode)) > 0;
  }

  bool Contains(uint64_t dev, uint64_t inode) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return entries_.count(Key(dev, inode)) > 0;
  }

  // The entry for this file when its content is still what the compiler wrote; marks it used.
  std::optional<TransitiveEntry> Match(uint64_t dev, uint64_t inode, const Digest& sha256,
                                       uint64_t now_ms) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(Key(dev, inode));
    if (it == entries_.end() || it->second.dev != dev || it->second.inode != inode ||
        it->second.sha256 != sha256)
      return std::nullopt;
    it->second.last_used_ms = now_ms;
    return it->second;
  }

  std::vector<TransitiveEntry> List() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<TransitiveEntry> out;
    out.reserve(entries_.size());
    for (const auto& [key, entry] : entries_) out.push_back(entry);
    return out;
  }

  size_t Clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    const size_t n = entries_.size();
    entries_.clear();
    return n;
  }

  size_t Size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return entries_.size();
  }

  size_t capacity() const { return capacity_; }

 private:
  static uint64_t Key(uint64_t dev, uint64_t inode) { return inode * 0x9e3779b97f4a7c15ull ^ dev; }

  const size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<uint64_t, TransitiveEntry> entries_;
};

}  // namespace gatehouse
