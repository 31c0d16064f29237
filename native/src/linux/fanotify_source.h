// fanotify: one FAN_CLASS_CONTENT group, FAN_OPEN_EXEC_PERM, filesystem marks (mount marks where a
// filesystem mark is refused), ignore marks as the kernel-side allow cache.
#pragma once

#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../core/event_source.h"

namespace gatehouse {

struct WatchSpec {
  // Empty: every local filesystem that can hold executables. Otherwise: the filesystems that
  // hold these paths.
  std::vector<std::string> paths;
};

class FanotifySource : public EventSource {
 public:
  explicit FanotifySource(WatchSpec spec);
  ~FanotifySource() override;

  bool Start(EventSink* sink, std::string* error) override;
  void Respond(const ExecEvent& event, bool allow) override;
  void IgnoreUntilModified(const ExecEvent& event) override;
  void Unignore(int fd) override;
  void FlushIgnores() override;
  void Stop() override;
  std::vector<WatchedFilesystem> Watched() const override;
  const char* Name() const override { return "fanotify"; }
  void SetWatchListener(WatchListener listener) override { watch_listener_ = std::move(listener); }

 private:
  void ReadLoop();
  void DrainEvents();
  bool UpdateMarks(std::string* error);

  WatchSpec spec_;
  EventSink* sink_ = nullptr;
  std::atomic<int> group_fd_{-1};
  int wake_fd_ = -1;
  int mountinfo_fd_ = -1;
  int devnull_fd_ = -1;
  std::atomic<bool> evictable_{true};
  std::thread reader_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex watched_mutex_;
  std::vector<WatchedFilesystem> watched_;
  std::set<uint64_t> marked_devices_;
  bool paths_resolved_ = false;
  WatchListener watch_listener_;
};

}  // namespace gatehouse
