// The seam between the authorizer and the operating system: fanotify on Linux, Endpoint Security
// on macOS, and a scripted fake for tests that cannot have either.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace gatehouse {

// CLOCK_MONOTONIC in nanoseconds.
uint64_t MonotonicNs();

struct Credentials {
  int32_t ppid = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
};

struct ExecEvent {
  int fd = -1;               // the file being executed; owned by the authorizer once delivered
  int32_t pid = 0;           // the process asking (thread-group id)
  uint64_t received_ns = 0;  // monotonic clock
  uint64_t token = 0;        // the source's own handle for the event
  std::optional<Credentials> credentials;  // when the source already knows them
};

struct WatchedFilesystem {
  std::string path;
  std::string fstype;
  std::string device;  // "major:minor"
  std::string mark;    // "filesystem" or "mount"
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void OnExecEvent(const ExecEvent& event) = 0;
};

class EventSource {
 public:
  virtual ~EventSource() = default;
  // Starts delivering events to the sink from the source's own thread.
  virtual bool Start(EventSink* sink, std::string* error) = 0;
  // Answers one event. Called exactly once per delivered event, before its fd is closed.
  virtual void Respond(const ExecEvent& event, bool allow) = 0;
  // After an allow: the kernel stops asking about this file until its content changes.
  virtual void IgnoreUntilModified(const ExecEvent& event) = 0;
  // Drops the ignore of the file behind fd, if any.
  virtual void Unignore(int fd) = 0;
  // Drops every ignore added by IgnoreUntilModified.
  virtual void FlushIgnores() = 0;
  // Stops events and releases every pending one (the kernel allows them). Idempotent.
  virtual void Stop() = 0;
  virtual std::vector<WatchedFilesystem> Watched() const = 0;
  // Told the watched filesystems (st_dev values) whenever they change, and whether the source
  // watches every local filesystem or only some.
  using WatchListener = std::function<void(const std::set<uint64_t>& devices, bool all)>;
  virtual void SetWatchListener(WatchListener listener) { (void)listener; }
  virtual const char* Name() const = 0;
};

}  // namespace gatehouse
