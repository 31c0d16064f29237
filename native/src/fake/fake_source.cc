#include "fake_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace gatehouse {
namespace {

// Like the kernel's ignore mark, a fake one stops covering a file once its content changes.
std::tuple<uint64_t, uint64_t, uint64_t, int64_t, int64_t> KeyOf(const struct stat& st) {
  return {uint64_t(st.st_dev), uint64_t(st.st_ino), uint64_t(st.st_size),
          int64_t(st.st_mtim.tv_sec) * 1000000000ll + st.st_mtim.tv_nsec,
          int64_t(st.st_ctim.tv_sec) * 1000000000ll + st.st_ctim.tv_nsec};
}

}  // namespace

bool FakeSource::Start(EventSink* sink, std::string*) {
  sink_ = sink;
  return true;
}

bool FakeSource::Inject(const std::string& path, int32_t pid,
                        std::optional<Credentials> credentials, uint64_t token,
                        std::string* error) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    *error = "cannot exec " + path + ": " + strerror(errno);
    return false;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopped_) {
      *error = "the monitor is stopped";
      return false;
    }
    if (ignores_.count(KeyOf(st))) {
      skipped_++;
      responder_(token, true);
      return true;
    }
    outstanding_.insert(token);
  }
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::lock_guard<std::mutex> lock(mutex_);
    outstanding_.erase(token);
    *error = "cannot open " + path + ": " + strerror(errno);
    return false;
  }
  ExecEvent event;
  event.fd = fd;
  event.pid = pid;
  event.received_ns = MonotonicNs();
  event.token = token;
  event.credentials = credentials;
  sink_->OnExecEvent(event);
  return true;
}

void FakeSource::Respond(const ExecEvent& event, bool allow) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!outstanding_.erase(event.token)) return;  // already released by Stop
  }
  responder_(event.token, allow);
}

void FakeSource::IgnoreUntilModified(const ExecEvent& event) {
  struct stat st;
  if (fstat(event.fd, &st) != 0) return;
  std::lock_guard<std::mutex> lock(mutex_);
  ignores_.insert(KeyOf(st));
}

void FakeSource::Unignore(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return;
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = ignores_.begin(); it != ignores_.end();) {
    if (std::get<0>(*it) == uint64_t(st.st_dev) && std::get<1>(*it) == uint64_t(st.st_ino)) {
      it = ignores_.erase(it);
    } else {
      ++it;
    }
  }
}

void FakeSource::FlushIgnores() {
  std::lock_guard<std::mutex> lock(mutex_);
  ignores_.clear();
}

void FakeSource::Stop() {
  std::set<uint64_t> released;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopped_ = true;
    released.swap(outstanding_);
  }
  // As the kernel does when the group closes: everything still waiting is allowed.
  for (uint64_t token : released) responder_(token, true);
}

std::vector<WatchedFilesystem> FakeSource::Watched() const {
  return {{"/", "fake", "0:0", "filesystem"}};
}

uint64_t FakeSource::skipped_by_ignore_marks() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return skipped_;
}

}  // namespace gatehouse
