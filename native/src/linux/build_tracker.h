// core/build_tracker.h on Linux: one fanotify notification group that hears, in order, every exec
// (FAN_OPEN_EXEC, on every local filesystem, so toolchains under /usr are seen) and every file
// closed after writing (FAN_CLOSE_WRITE, on the filesystems the exec monitor watches).
//
// Who wrote a file: fanotify reports the writer's pid, but a linker often exits before its event
// is read. So the writer's program is known from the exec events before it in the same queue: a
// process that exec'd a compiler (a file only root can write whose SHA-256 has an
// ALLOWLIST_COMPILER rule) is remembered with a pidfd. The pidfd says when it exits; its entry is
// dropped only after the queue is drained past that moment, so a later process with the same pid
// is never taken for it. Only the writer counts, never an ancestor: a toolchain names each of its
// writing programs (gcc's ld, go's link and go itself), as Santa's compiler rules do.
//
// What a compiler process may not be: traced (TracerPid), started with LD_PRELOAD, LD_AUDIT,
// LD_LIBRARY_PATH or GCONV_PATH, running code from a file a user can write (its executable
// mappings, through /proc/<pid>/map_files), or given a plugin a user can write. It is checked as
// soon as its exec has completed, every few milliseconds while it runs, and again when it closes a
// file if it is still there; one failed check taints it for good, and a process never checked
// (gone before its exec could be seen complete) mints nothing.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "../core/build_tracker.h"
#include "../core/decision_cache.h"

namespace gatehouse {

class FanotifyBuildTracker : public BuildTracker {
 public:
  explicit FanotifyBuildTracker(std::vector<std::string> watch_paths);
  ~FanotifyBuildTracker() override;

  bool Start(Hooks hooks, std::string* error) override;
  void Stop() override;
  bool running() const override { return running_; }
  BuildTrackerCounters Counters() const override;
  bool Sync(uint32_t timeout_ms) override;

 private:
  enum class State : uint8_t { kPending, kVerified, kTainted };
  struct Compiler {
    FileKey key{};          // the file it exec'd
    bool resolved = false;  // its SHA-256 is known (and has a compiler rule)
    Digest sha256{};
    std::string path;
    std::string interpreter;  // its PT_INTERP, until that exec event has been seen
    int pidfd = -1;
    bool exited = false;
    State state = State::kPending;
    uint64_t next_check_ns = 0;
    uint64_t check_interval_ns = 2500000;  // doubled before use: the first is 5 ms
  };

  bool Mark(std::string* error);
  void Loop();
  void Drain();
  void OnExec(int32_t pid, int fd);
  void OnCloseWrite(int32_t pid, int fd);
  void Mint(int fd, const struct stat& st, const Compiler& compiler);
  void Verify(int32_t pid, Compiler& compiler);
  void Taint(Compiler& compiler);
  void Forget(int32_t pid);
  // The file's SHA-256 when known; an empty optional inside when it could not be read.
  std::optional<std::optional<Digest>> KnownDigest(const FileKey& key);
  void RequestHash(const FileKey& key, int fd);
  // Settles a candidate once its hash is known: false when it is not a compiler after all.
  bool Resolve(Compiler& compiler, uint32_t wait_ms);
  void HashLoop();
  void CheckDue();

  std::vector<std::string> watch_paths_;
  Hooks hooks_;
  int group_ = -1;
  int wake_ = -1;
  int sync_ = -1;  // an eventfd: someone waits in Sync()
  std::mutex sync_mutex_;
  std::condition_variable synced_;
  uint64_t sync_requested_ = 0, sync_done_ = 0;
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::atomic<bool> stopping_{false};
  // Only the tracker's thread touches these.
  std::unordered_map<int32_t, Compiler> compilers_;
  // Files exec'd from root-only files are hashed on their own thread, so that the processes
  // behind later events are pinned and checked while they still run.
  std::thread hasher_;
  std::mutex hash_mutex_;
  std::condition_variable hash_work_, hash_done_;
  std::deque<std::pair<FileKey, int>> hash_queue_;
  struct HashResult {
    bool done = false;
    bool ok = false;
    Digest digest{};
  };
  std::unordered_map<FileKey, HashResult, FileKeyHash> digests_;
  bool hash_stopping_ = false;

  struct {
    std::atomic<uint64_t> writes{0}, compiler_writes{0}, minted{0}, refused{0}, forgotten{0},
        tainted{0}, compilers_seen{0}, missed{0};
  } counters_;
};

}  // namespace gatehouse
