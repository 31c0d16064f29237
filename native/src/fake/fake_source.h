// A scripted exec source for tests without root: JavaScript injects "execs" of real files, and the
// fake answers like the kernel would, ignore marks included.
#pragma once

#include <functional>
#include <mutex>
#include <set>
#include <tuple>

#include "../core/event_source.h"

namespace gatehouse {

class FakeSource : public EventSource {
 public:
  // Called once per injected exec with the token the injection returned and the answer.
  using Responder = std::function<void(uint64_t token, bool allow)>;

  explicit FakeSource(Responder responder) : responder_(std::move(responder)) {}

  bool Start(EventSink* sink, std::string* error) override;
  void Respond(const ExecEvent& event, bool allow) override;
  void IgnoreUntilModified(const ExecEvent& event) override;
  void Unignore(int fd) override;
  void FlushIgnores() override;
  void Stop() override;
  std::vector<WatchedFilesystem> Watched() const override;
  const char* Name() const override { return "fake"; }

  // Opens path as the kernel would for an exec by pid. Returns false with a reason when the file
  // cannot be opened. When an ignore mark covers the file, answers allow at once without an event.
  bool Inject(const std::string& path, int32_t pid, std::optional<Credentials> credentials,
              uint64_t token, std::string* error);
  uint64_t skipped_by_ignore_marks() const;

 private:
  using Key = std::tuple<uint64_t, uint64_t, uint64_t, int64_t, int64_t>;
  Responder responder_;
  EventSink* sink_ = nullptr;
  mutable std::mutex mutex_;
  bool stopped_ = false;
  std::set<Key> ignores_;
  std::set<uint64_t> outstanding_;
  uint64_t skipped_ = 0;
};

}  // namespace gatehouse
