// The hash workers: threads that take jobs from the fair queue a slice at a time, so that each
// user's files get their turn, and hand each finished job back.
#pragma once

#include <algorithm>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "fair_queue.h"

namespace gatehouse {

template <typename Job>
class HashPool {
 public:
  using Admit = typename FairQueue<Job>::Admit;
  struct Hooks {
    std::function<void(Job&)> start;       // once, before its first slice
    std::function<bool(Job&)> read_slice;  // true when the job has read everything
    std::function<void(Job&)> finish;      // once, after its last slice
  };

  HashPool(size_t per_user, size_t total, Hooks hooks)
      : queue_(per_user, total), hooks_(std::move(hooks)) {}
  ~HashPool() { Stop(); }

  void Start(uint32_t workers) {
    queue_.Restart();
    for (uint32_t i = 0; i < std::max<uint32_t>(1, workers); ++i) {
      threads_.emplace_back([this] { Loop(); });
    }
  }

  // Stops the workers; jobs not finished are dropped (their owner answers their execs).
  void Stop() {
    queue_.Stop();
    for (auto& thread : threads_) thread.join();
    threads_.clear();
    queue_.Drain();
  }

  Admit Push(uint32_t uid, std::shared_ptr<Job> job) { return queue_.Push(uid, std::move(job)); }
  size_t queued() const { return queue_.queued(); }
  size_t active() const { return queue_.active(); }

 private:
  void Loop() {
    for (;;) {
      uint32_t uid = 0;
      std::shared_ptr<Job> job = queue_.Pop(&uid);
      if (!job) return;
      if (!job->started) {
        job->started = true;
        hooks_.start(*job);
      }
      if (!hooks_.read_slice(*job)) {
        queue_.Requeue(uid, std::move(job));
        continue;
      }
      hooks_.finish(*job);
      queue_.Done(uid);
    }
  }

  FairQueue<Job> queue_;
  const Hooks hooks_;
  std::vector<std::thread> threads_;
};

}  // namespace gatehouse
