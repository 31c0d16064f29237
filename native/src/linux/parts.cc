// core/parts.h on Linux: fanotify for exec events, read leases as the write guard, the BPF LSM
// programs as the exec gate's second layer where this build and kernel have them, and a fanotify
// notification group that tracks what compilers write (transitive rules).
#include "../core/parts.h"

#include "fanotify_source.h"
#include "lease_guard.h"
#ifdef GATEHOUSE_BPF
#include "bpf_gate.h"
#endif

namespace gatehouse {

std::unique_ptr<WriteGuard> MakeWriteGuard(const PartsOptions& options) {
  return std::make_unique<LeaseGuard>(options.guarded_files);
}

bool MakeSystemParts(const PartsOptions& options, MonitorParts* parts, std::string*) {
  parts->source = std::make_unique<FanotifySource>(WatchSpec{options.watch_paths});
  parts->guard = MakeWriteGuard(options);
  parts->tracker = MakeBuildTracker(options.watch_paths);
#ifdef GATEHOUSE_BPF
  parts->gate = BpfGate::Open();
#else
  parts->gate = std::make_unique<NoExecGate>(
      "the addon was built without BPF (clang, libbpf-dev and bpftool were missing when it was "
      "built; install them and run npm install again)");
#endif
  return true;
}

}  // namespace gatehouse
