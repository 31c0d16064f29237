#include "fanotify_source.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "mounts.h"
#include "signals.h"

namespace gatehouse {
namespace {

std::atomic<int> g_group_fd{-1};
std::atomic<int> g_devnull_fd{-1};

// On SIGTERM the group is let go before anything else: pointing its descriptor at /dev/null drops
// the process's reference, and the kernel allows every event still waiting on us.
void ReleaseGroupOnSignal(int signal_number) {
  const int group = g_group_fd.load();
  const int devnull = g_devnull_fd.load();
  if (group >= 0 && devnull >= 0) dup2(devnull, group);
  ::signal(signal_number, SIG_DFL);
  raise(signal_number);
}

std::string ReadAll(int fd) {
  std::string text;
  char buffer[8192];
  lseek(fd, 0, SEEK_SET);
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buffer, size_t(n));
  }
  return text;
}

}  // namespace

FanotifySource::FanotifySource(WatchSpec spec) : spec_(std::move(spec)) {}

FanotifySource::~FanotifySource() {
  Stop();
  for (int* fd : {&wake_fd_, &mountinfo_fd_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
  const int group = group_fd_.exchange(-1);
  if (group >= 0) {
    if (g_group_fd.load() == group) g_group_fd = -1;
    close(group);
  }
  if (devnull_fd_ >= 0) close(devnull_fd_);
}

bool FanotifySource::Start(EventSink* sink, std::string* error) {
  sink_ = sink;
  const int group = fanotify_init(
      FAN_CLOEXEC | FAN_CLASS_CONTENT | FAN_NONBLOCK | FAN_UNLIMITED_QUEUE | FAN_UNLIMITED_MARKS,
      O_RDONLY | O_LARGEFILE | O_CLOEXEC | O_NOATIME);
  if (group < 0) {
    *error = std::string("fanotify_init failed: ") + strerror(errno) +
             (errno == EPERM ? " (the exec monitor needs root: CAP_SYS_ADMIN)" : "");
    return false;
  }
  group_fd_ = group;
  devnull_fd_ = open("/dev/null", O_WRONLY | O_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  mountinfo_fd_ = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
  if (devnull_fd_ < 0 || wake_fd_ < 0 || mountinfo_fd_ < 0) {
    *error = std::string("exec monitor set-up failed: ") + strerror(errno);
    return false;
  }
  if (!UpdateMarks(error)) return false;
  g_devnull_fd = devnull_fd_;
  g_group_fd = group;
  // When someone else (Node, for a JavaScript listener) handles SIGTERM, they call stop().
  HandleWhereUnhandled(SIGTERM, ReleaseGroupOnSignal);
  reader_ = std::thread([this] { ReadLoop(); });
  return true;
}

bool FanotifySource::UpdateMarks(std::string* error) {
  const std::vector<MountEntry> mounts = ParseMountInfo(ReadAll(mountinfo_fd_));
  struct Target {
    std::string path;
    std::string fstype;
    std::vector<std::string> mount_points;
  };
  std::map<uint64_t, Target> desired;
  if (spec_.paths.empty()) {
    for (const MountEntry& mount : mounts) {
      if (mount.noexec || !IsLocalExecutableFilesystem(mount.fstype)) continue;
      Target& target = desired[makedev(mount.major, mount.minor)];
      if (target.path.empty()) {
        target.path = mount.mount_point;
        target.fstype = mount.fstype;
      }
      target.mount_points.push_back(mount.mount_point);
    }
  } else if (!paths_resolved_) {
    // Paths are resolved to filesystems once, at start. A later rescan must never re-resolve
    // them: once a watched filesystem is unmounted, the same path names whatever lies beneath
    // (often the root filesystem), which is not what was asked for.
    for (const std::string& path : spec_.paths) {
      struct stat st;
      if (stat(path.c_str(), &st) != 0) {
        *error = "cannot watch " + path + ": " + strerror(errno);
        return false;
      }
      Target& target = desired[st.st_dev];
      if (target.path.empty()) target.path = path;
      for (const MountEntry& mount : mounts) {
        if (makedev(mount.major, mount.minor) != st.st_dev) continue;
        if (target.fstype.empty()) target.fstype = mount.fstype;
        if (!mount.noexec) target.mount_points.push_back(mount.mount_point);
      }
      if (target.mount_points.empty()) target.mount_points.push_back(path);
    }
    paths_resolved_ = true;
  } else {
    // Keep what is still mounted; never add.
    for (const MountEntry& mount : mounts) {
      const uint64_t device = makedev(mount.major, mount.minor);
      if (marked_devices_.count(device)) desired[device];
    }
  }

  const int group = group_fd_;
  std::vector<WatchedFilesystem> added;
  std::string failures;
  for (const auto& [device, target] : desired) {
    if (marked_devices_.count(device)) continue;
    const std::string device_name =
        std::to_string(major(device)) + ":" + std::to_string(minor(device));
    if (fanotify_mark(group, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN_EXEC_PERM, AT_FDCWD,
                      target.path.c_str()) == 0) {
      added.push_back({target.path, target.fstype, device_name, "filesystem"});
      marked_devices_.insert(device);
      continue;
    }
    const std::string filesystem_error = strerror(errno);
    bool any = false;
    for (const std::string& mount_point : target.mount_points) {
      if (fanotify_mark(group, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_OPEN_EXEC_PERM, AT_FDCWD,
                        mount_point.c_str()) == 0) {
        added.push_back({mount_point, target.fstype, device_name, "mount"});
        any = true;
      }
    }
    if (any) {
      marked_devices_.insert(device);
    } else {
      failures += (failures.empty() ? "" : "; ") + target.path + " (" + filesystem_error + ")";
    }
  }

  std::lock_guard<std::mutex> lock(watched_mutex_);
  // The kernel drops the marks of an unmounted filesystem itself; only the bookkeeping follows.
  for (auto it = marked_devices_.begin(); it != marked_devices_.end();) {
    if (desired.count(*it)) {
      ++it;
      continue;
    }
    const std::string gone = std::to_string(major(*it)) + ":" + std::to_string(minor(*it));
    watched_.erase(std::remove_if(watched_.begin(), watched_.end(),
                                  [&](const WatchedFilesystem& w) { return w.device == gone; }),
                   watched_.end());
    it = marked_devices_.erase(it);
  }
  watched_.insert(watched_.end(), added.begin(), added.end());
  if (watch_listener_) watch_listener_(marked_devices_, spec_.paths.empty());
  if (!failures.empty() && (watched_.empty() || !spec_.paths.empty())) {
    *error = "cannot watch " + failures;
    return false;
  }
  return true;
}

void FanotifySource::ReadLoop() {
  pollfd fds[3] = {{group_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}, {mountinfo_fd_, POLLPRI, 0}};
  while (!stopping_) {
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents) break;
    if (fds[0].revents & POLLIN) DrainEvents();
    if (fds[2].revents & (POLLPRI | POLLERR)) {
      std::string ignored;
      UpdateMarks(&ignored);
    }
  }
}

void FanotifySource::DrainEvents() {
  alignas(fanotify_event_metadata) char buffer[64 * 1024];
  for (;;) {
    ssize_t length = read(group_fd_, buffer, sizeof(buffer));
    if (length < 0 && errno == EINTR) continue;
    if (length <= 0) return;
    auto* metadata = reinterpret_cast<fanotify_event_metadata*>(buffer);
    for (; FAN_EVENT_OK(metadata, length); metadata = FAN_EVENT_NEXT(metadata, length)) {
      if (metadata->fd < 0) continue;  // FAN_Q_OVERFLOW carries no file
      const bool exec =
          metadata->vers == FANOTIFY_METADATA_VERSION && (metadata->mask & FAN_OPEN_EXEC_PERM);
      ExecEvent event;
      event.fd = metadata->fd;
      event.pid = metadata->pid;
      event.received_ns = MonotonicNs();
      if (!exec) {
        Respond(event, true);
        close(event.fd);
        continue;
      }
      sink_->OnExecEvent(event);
    }
  }
}

void FanotifySource::Respond(const ExecEvent& event, bool allow) {
  fanotify_response response{event.fd, static_cast<__u32>(allow ? FAN_ALLOW : FAN_DENY)};
  while (write(group_fd_, &response, sizeof(response)) < 0 && errno == EINTR) {
  }
}

void FanotifySource::IgnoreUntilModified(const ExecEvent& event) {
  // No FAN_MARK_IGNORED_SURV_MODIFY: the kernel clears this ignore mark when the file is written.
  // Evictable (5.19+) so that the mark never pins the inode in memory.
  const unsigned base = FAN_MARK_ADD | FAN_MARK_IGNORED_MASK;
  if (evictable_ && fanotify_mark(group_fd_, base | FAN_MARK_EVICTABLE, FAN_OPEN_EXEC_PERM,
                                  event.fd, nullptr) == 0) {
    return;
  }
  if (evictable_ && errno == EINVAL) evictable_ = false;
  fanotify_mark(group_fd_, base, FAN_OPEN_EXEC_PERM, event.fd, nullptr);
}

void FanotifySource::Unignore(int fd) {
  // Removing the last bit of an inode mark's ignored mask removes the mark.
  fanotify_mark(group_fd_, FAN_MARK_REMOVE | FAN_MARK_IGNORED_MASK, FAN_OPEN_EXEC_PERM, fd,
                nullptr);
}

void FanotifySource::FlushIgnores() {
  // Without FAN_MARK_MOUNT or FAN_MARK_FILESYSTEM this removes only inode marks: our ignores.
  fanotify_mark(group_fd_, FAN_MARK_FLUSH, 0, AT_FDCWD, nullptr);
}

void FanotifySource::Stop() {
  if (stopping_.exchange(true)) return;
  const int group = group_fd_;
  if (group >= 0 && devnull_fd_ >= 0) dup2(devnull_fd_, group);
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    ssize_t ignored = write(wake_fd_, &one, sizeof(one));
    (void)ignored;
  }
  if (reader_.joinable()) reader_.join();
}

std::vector<WatchedFilesystem> FanotifySource::Watched() const {
  std::lock_guard<std::mutex> lock(watched_mutex_);
  return watched_;
}

}  // namespace gatehouse
