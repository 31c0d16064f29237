// What an exec monitor is made of on this operating system: the event source, the write guard
// and the exec gate. The binding asks for them here; each OS's folder says what they are
// (linux/parts.cc: fanotify, read leases, BPF LSM), as parcel/watcher picks its backend outside
// the binding.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "build_tracker.h"
#include "event_source.h"
#include "exec_gate.h"
#include "write_guard.h"

namespace gatehouse {

struct MonitorParts {
  std::unique_ptr<EventSource> source;
  std::unique_ptr<WriteGuard> guard;
  std::unique_ptr<ExecGate> gate;
  std::unique_ptr<BuildTracker> tracker;  // none: transitive rules cannot be enabled
};

struct PartsOptions {
  std::vector<std::string> watch_paths;  // empty: every local filesystem
  size_t guarded_files = 4096;           // files a write guard may keep watching at once
};

// The OS's own exec facility; false with the reason when this OS has none (or this build lacks it).
bool MakeSystemParts(const PartsOptions& options, MonitorParts* parts, std::string* error);

// The guard this OS gives to any source (the scripted fake too), so its logic is tested anywhere.
std::unique_ptr<WriteGuard> MakeWriteGuard(const PartsOptions& options);

}  // namespace gatehouse
