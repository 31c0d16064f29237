// The seam for transitive rules: something that sees files closed after writing and says which
// process wrote them. Linux: linux/build_tracker.cc (a fanotify notification group). Elsewhere:
// none yet, and transitive rules are then never minted.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sha256.h"

namespace gatehouse {

struct BuildTrackerCounters {
  uint64_t writes = 0;           // files closed after writing, on the watched filesystems
  uint64_t compiler_writes = 0;  // ... by a process running a compiler
  uint64_t minted = 0;           // transitive allows made
  uint64_t refused = 0;          // compiler writes that made none (tainted writer, busy file)
  uint64_t forgotten = 0;        // transitive allows dropped because a non-compiler wrote
  uint64_t tainted = 0;          // compiler processes found traced, preloaded or with user code
  uint64_t compilers_seen = 0;   // execs of a compiler
  uint64_t missed = 0;           // compiler execs read only after their process was gone
};

class BuildTracker {
 public:
  struct Hooks {
    // The SHA-256 has an ALLOWLIST_COMPILER rule.
    std::function<bool(const Digest&)> is_compiler;
    // A compiler wrote this executable (fd: the file, only during the call).
    std::function<void(int fd, uint64_t dev, uint64_t inode, const Digest& sha256,
                       const std::string& compiler, const Digest& compiler_sha256)>
        built;
    // Someone else closed this file after writing: whatever a compiler made of it no longer holds.
    // True when there was one to drop.
    std::function<bool(int fd, uint64_t dev, uint64_t inode)> overwritten;
  };
  virtual ~BuildTracker() = default;
  virtual bool Start(Hooks hooks, std::string* error) = 0;
  virtual void Stop() = 0;
  virtual bool running() const = 0;
  virtual BuildTrackerCounters Counters() const = 0;
  // Waits until every write closed before this call has been looked at (a build's output run at
  // once must not race its own tracking); false when that took longer than timeout_ms.
  virtual bool Sync(uint32_t timeout_ms) = 0;
};

// This OS's tracker over the filesystems the exec monitor watches (empty: every local one);
// nullptr when the OS has none.
std::unique_ptr<BuildTracker> MakeBuildTracker(const std::vector<std::string>& watch_paths);

}  // namespace gatehouse
