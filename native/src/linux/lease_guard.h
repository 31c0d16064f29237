// The Linux write guard: a read lease (F_SETLEASE F_RDLCK) on the file. The kernel refuses the
// lease while anyone has the file open for writing or mapped writable, and breaks it when anyone
// opens it for writing or truncates it; the opener then waits until the lease is let go. Taking
// write access comes before that wait in the kernel's open path, so while a lease is held no exec
// can pass the kernel's write-deny check with a writer half-way in: the content that runs is the
// content that was hashed.
//
// A break is signalled (F_SETSIG, a real-time signal) to one thread of ours that blocks it and
// reads it from a signalfd; that thread forgets the allow (cache entry, ignore mark) before it lets
// the lease go, so the writer proceeds only once the old decision is gone.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include "../core/write_guard.h"

namespace gatehouse {

class LeaseGuard : public WriteGuard {
 public:
  explicit LeaseGuard(size_t capacity);
  ~LeaseGuard() override;

  bool Start(OnWrite on_write) override;
  void Stop() override;
  Begin Watch(int fd) override;
  bool Intact(int fd) override;
  void Release(int fd) override;
  bool Keep(int fd, uint64_t dev, uint64_t inode) override;
  void ReleaseAll() override;
  uint64_t kept() const override;

 private:
  struct Held {
    uint64_t dev, inode, order;
  };
  void Loop();
  void Check(int fd);
  void CheckAll();
  // Forgets the allow, then lets the lease (and fd) go. Called without mutex_.
  void Drop(int fd, const Held& held, bool forget);

  const size_t capacity_;
  const int signal_;
  OnWrite on_write_;
  std::thread thread_;
  std::atomic<pid_t> tid_{0};
  int wake_fd_ = -1;
  std::atomic<bool> stopping_{false};

  mutable std::mutex mutex_;
  std::unordered_map<int, Held> by_fd_;
  std::map<std::pair<uint64_t, uint64_t>, int> by_inode_;
  std::map<uint64_t, int> by_order_;  // oldest first, for eviction at capacity
  uint64_t next_order_ = 0;
};

}  // namespace gatehouse
