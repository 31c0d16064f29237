// Every exec is answered by its deadline, whatever happens elsewhere: this thread takes the
// waiting ones in arrival order (so the oldest is always the next due) and hands each that is
// still unanswered at its deadline to `overdue`.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace gatehouse {

uint64_t MonotonicNs();

template <typename Item>
class Watchdog {
 public:
  struct Hooks {
    std::function<uint64_t(const Item&)> received_ns;
    std::function<bool(Item&)> answered;
    std::function<void(Item&)> overdue;
  };

  explicit Watchdog(Hooks hooks) : hooks_(std::move(hooks)) {}
  ~Watchdog() { Stop(); }

  void Start(uint32_t deadline_ms) {
    deadline_ms_ = deadline_ms;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = false;
    }
    thread_ = std::thread([this] { Loop(); });
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      waiting_.clear();
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  void SetDeadline(uint32_t deadline_ms) {
    deadline_ms_ = deadline_ms;
    wake_.notify_all();
  }

  void Watch(std::shared_ptr<Item> item) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      waiting_.push_back(std::move(item));
    }
    wake_.notify_one();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
      if (waiting_.empty()) {
        wake_.wait(lock, [this] { return stopping_ || !waiting_.empty(); });
        continue;
      }
      std::shared_ptr<Item> oldest = waiting_.front();
      if (hooks_.answered(*oldest)) {
        waiting_.pop_front();
        continue;
      }
      const uint64_t due = hooks_.received_ns(*oldest) + uint64_t(deadline_ms_.load()) * 1000000ull;
      const uint64_t now = MonotonicNs();
      if (now < due) {
        wake_.wait_for(lock, std::chrono::nanoseconds(due - now));
        continue;
      }
      waiting_.pop_front();
      lock.unlock();
      hooks_.overdue(*oldest);
      lock.lock();
    }
  }

  const Hooks hooks_;
  std::atomic<uint32_t> deadline_ms_{5000};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::deque<std::shared_ptr<Item>> waiting_;
  std::thread thread_;
};

}  // namespace gatehouse
