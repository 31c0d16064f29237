// Files waiting to be hashed, served a slice at a time: round robin over the users whose execs
// wait, then over each user's files. However many or however large the files one user executes,
// another user's file waits for at most one slice per worker and user ahead of it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace gatehouse {

template <typename Job>
class FairQueue {
 public:
  enum class Admit { kQueued, kUserBusy, kFull };

  FairQueue(size_t per_user, size_t total) : per_user_(per_user), total_(total) {}

  // A new job: counted against its user until Done().
  Admit Push(uint32_t uid, std::shared_ptr<Job> job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (active_total_ >= total_) return Admit::kFull;
      size_t& active = active_[uid];
      if (active >= per_user_) return Admit::kUserBusy;
      active++;
      active_total_++;
      Enqueue(uid, std::move(job));
    }
    ready_.notify_one();
    return Admit::kQueued;
  }

  // A job that has more to read goes to the back of its user's line.
  void Requeue(uint32_t uid, std::shared_ptr<Job> job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      Enqueue(uid, std::move(job));
    }
    ready_.notify_one();
  }

  // The next slice's job, or null once stopped.
  std::shared_ptr<Job> Pop(uint32_t* uid) {
    std::unique_lock<std::mutex> lock(mutex_);
    ready_.wait(lock, [this] { return stopping_ || !users_.empty(); });
    if (stopping_) return nullptr;
    *uid = users_.front();
    users_.pop_front();
    auto& line = lines_[*uid];
    std::shared_ptr<Job> job = std::move(line.front());
    line.pop_front();
    if (line.empty()) {
      lines_.erase(*uid);
    } else {
      users_.push_back(*uid);
    }
    queued_--;
    return job;
  }

  void Done(uint32_t uid) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = active_.find(uid);
    if (it != active_.end() && --it->second == 0) active_.erase(it);
    active_total_--;
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
  }

  // Leftovers after Stop(), for the caller to answer.
  std::deque<std::shared_ptr<Job>> Drain() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::deque<std::shared_ptr<Job>> all;
    for (auto& [uid, line] : lines_) {
      for (auto& job : line) all.push_back(std::move(job));
    }
    lines_.clear();
    users_.clear();
    active_.clear();
    queued_ = 0;
    active_total_ = 0;
    return all;
  }

  void Restart() {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = false;
  }

  size_t queued() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return queued_;
  }
  size_t active() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return active_total_;
  }

 private:
  void Enqueue(uint32_t uid, std::shared_ptr<Job> job) {
    auto& line = lines_[uid];
    if (line.empty()) users_.push_back(uid);
    line.push_back(std::move(job));
    queued_++;
  }

  const size_t per_user_, total_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  bool stopping_ = false;
  std::deque<uint32_t> users_;  // users with queued jobs, in serving order
  std::unordered_map<uint32_t, std::deque<std::shared_ptr<Job>>> lines_;
  std::unordered_map<uint32_t, size_t> active_;  // queued or being read, per user
  size_t active_total_ = 0;
  size_t queued_ = 0;
};

}  // namespace gatehouse
