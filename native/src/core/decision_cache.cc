#include "decision_cache.h"

namespace gatehouse {

const char* FlushReasonName(FlushReason reason) {
  switch (reason) {
    case FlushReason::kRules: return "rules";
    case FlushReason::kMode: return "mode";
    case FlushReason::kScopes: return "scopes";
    case FlushReason::kPackages: return "packages";
    case FlushReason::kRequested: return "requested";
    case FlushReason::kRootWrite: return "root-write";
  }
  return "unknown";
}

std::optional<DecisionCache::Entry> DecisionCache::Find(const FileKey& key, uint64_t now_ns) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(DevInode{key.dev, key.inode});
  if (it == entries_.end()) return std::nullopt;
  const Entry& entry = it->second;
  if (entry.key == key && (entry.expires_ns == 0 || entry.expires_ns > now_ns)) return entry;
  entries_.erase(it);
  return std::nullopt;
}

void DecisionCache::Put(Entry entry) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (entries_.size() >= capacity_) entries_.erase(entries_.begin());
  const DevInode at{entry.key.dev, entry.key.inode};
  entries_[at] = std::move(entry);
}

void DecisionCache::Forget(uint64_t dev, uint64_t inode) {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.erase(DevInode{dev, inode});
}

void DecisionCache::Flush(FlushReason reason) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    entries_.clear();
  }
  flushes_[size_t(reason)]++;
}

uint64_t DecisionCache::flushes() const {
  uint64_t total = 0;
  for (const auto& count : flushes_) total += count;
  return total;
}

std::array<uint64_t, kFlushReasonCount> DecisionCache::flushes_by_reason() const {
  std::array<uint64_t, kFlushReasonCount> counts{};
  for (size_t i = 0; i < kFlushReasonCount; ++i) counts[i] = flushes_[i];
  return counts;
}

}  // namespace gatehouse
