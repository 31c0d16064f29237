#include "lease_guard.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "signals.h"

namespace gatehouse {
namespace {

// A real-time signal nobody else in a Node process uses (glibc keeps the first few for itself;
// SIGRTMIN already accounts for them).
int LeaseSignal() {
  return SIGRTMIN + 6;
}

}  // namespace

LeaseGuard::LeaseGuard(size_t capacity) : capacity_(capacity), signal_(LeaseSignal()) {}

LeaseGuard::~LeaseGuard() {
  Stop();
}

bool LeaseGuard::Start(OnWrite on_write) {
  on_write_ = std::move(on_write);
  // A break signal that reaches the process before the lease is pointed at our thread (or SIGIO,
  // which the kernel sends when its real-time queue overflows) must not end the process. Our
  // thread blocks both, so signals aimed at it are still queued there.
  HandleWhereUnhandled(signal_, SIG_IGN);
  HandleWhereUnhandled(SIGIO, SIG_IGN);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) return false;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
  // Watch() points leases at this thread: it must exist first.
  while (tid_.load() == 0) std::this_thread::yield();
  return true;
}

void LeaseGuard::Stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  const uint64_t one = 1;
  ssize_t ignored = write(wake_fd_, &one, sizeof(one));
  (void)ignored;
  thread_.join();
  ReleaseAll();
  close(wake_fd_);
  wake_fd_ = -1;
  tid_ = 0;
}

WriteGuard::Begin LeaseGuard::Watch(int fd) {
  // The signal first: a break must never raise the default SIGIO.
  if (fcntl(fd, F_SETSIG, signal_) != 0) return Begin::kUnsupported;
  if (fcntl(fd, F_SETLEASE, F_RDLCK) != 0) {
    return errno == EAGAIN ? Begin::kWriterOpen : Begin::kUnsupported;
  }
  f_owner_ex owner{F_OWNER_TID, tid_.load()};
  fcntl(fd, F_SETOWN_EX, &owner);
  return Begin::kGuarded;
}

bool LeaseGuard::Intact(int fd) {
  return fcntl(fd, F_GETLEASE) == F_RDLCK;
}

void LeaseGuard::Release(int fd) {
  fcntl(fd, F_SETLEASE, F_UNLCK);
}

bool LeaseGuard::Keep(int fd, uint64_t dev, uint64_t inode) {
  int victim = -1;
  Held victim_held{};
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto existing = by_inode_.find({dev, inode});
    if (existing != by_inode_.end() && existing->second != fd) {
      // Another exec of the same file already holds a watch; replace it with this one.
      victim = existing->second;
      victim_held = by_fd_[victim];
      by_order_.erase(victim_held.order);
      by_fd_.erase(victim);
      by_inode_.erase(existing);
    } else if (by_fd_.size() >= capacity_ && !by_order_.empty()) {
      victim = by_order_.begin()->second;
      victim_held = by_fd_[victim];
      by_order_.erase(by_order_.begin());
      by_fd_.erase(victim);
      by_inode_.erase({victim_held.dev, victim_held.inode});
    }
    const uint64_t order = next_order_++;
    by_fd_[fd] = Held{dev, inode, order};
    by_inode_[{dev, inode}] = fd;
    by_order_[order] = fd;
  }
  if (victim >= 0) {
    // The replaced watch of the same file is covered by this one; an evicted one's allow goes.
    const bool same_file = victim_held.dev == dev && victim_held.inode == inode;
    Drop(victim, victim_held, !same_file);
  }
  // A write open between the caller's last look and our taking the fd was signalled for an fd we
  // did not know yet: look again now that breaks of this fd reach Check().
  if (!Intact(fd)) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = by_fd_.find(fd);
    if (it != by_fd_.end()) {
      by_order_.erase(it->second.order);
      by_inode_.erase({dev, inode});
      by_fd_.erase(it);
    }
    return false;
  }
  return true;
}

void LeaseGuard::ReleaseAll() {
  std::unordered_map<int, Held> all;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    all.swap(by_fd_);
    by_inode_.clear();
    by_order_.clear();
  }
  for (const auto& [fd, held] : all) Drop(fd, held, false);
}

uint64_t LeaseGuard::kept() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return by_fd_.size();
}

void LeaseGuard::Drop(int fd, const Held& held, bool forget) {
  if (forget && on_write_) on_write_(fd, held.dev, held.inode);
  fcntl(fd, F_SETLEASE, F_UNLCK);
  close(fd);
}

void LeaseGuard::Check(int fd) {
  Held held{};
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = by_fd_.find(fd);
    // Not ours (a lease still being decided on, whose worker looks itself), or already gone.
    if (it == by_fd_.end()) return;
    // A late signal for an fd number that has since been reused by a lease still intact.
    if (Intact(fd)) return;
    held = it->second;
    by_order_.erase(held.order);
    by_inode_.erase({held.dev, held.inode});
    by_fd_.erase(it);
  }
  Drop(fd, held, true);
}

void LeaseGuard::CheckAll() {
  std::vector<int> fds;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    fds.reserve(by_fd_.size());
    for (const auto& entry : by_fd_) fds.push_back(entry.first);
  }
  for (int fd : fds) Check(fd);
}

void LeaseGuard::Loop() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, signal_);
  sigaddset(&mask, SIGIO);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  const int signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  tid_ = pid_t(syscall(SYS_gettid));
  pollfd fds[2] = {{signal_fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  while (!stopping_) {
    // Signals can be lost (a full queue sends one SIGIO for all); a slow sweep covers that.
    const int ready = poll(fds, 2, 1000);  // a negative fd is skipped by poll
    if (stopping_) break;
    if (ready <= 0 || signal_fd < 0) {
      CheckAll();
      continue;
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo infos[64];
      for (;;) {
        const ssize_t n = read(signal_fd, infos, sizeof(infos));
        if (n <= 0) break;
        for (size_t i = 0; i < size_t(n) / sizeof(signalfd_siginfo); ++i) {
          if (int(infos[i].ssi_signo) == signal_) {
            Check(infos[i].ssi_fd);
          } else {
            CheckAll();
          }
        }
      }
    }
  }
  if (signal_fd >= 0) close(signal_fd);
}

}  // namespace gatehouse
