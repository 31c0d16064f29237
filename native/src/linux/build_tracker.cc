#include "build_tracker.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <elf.h>
#include <limits.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

#include "../core/host.h"
#include "mounts.h"

namespace gatehouse {
namespace {

// Compilers larger than this are not hashed (cc1 is about 30 MiB, go's tools about 20).
constexpr uint64_t kMaxCompilerBytes = 512ull << 20;
// Larger outputs make no transitive allow.
constexpr uint64_t kMaxOutputBytes = 1ull << 30;
// Compiler processes followed at once (each holds a pidfd); past it a new one mints nothing.
constexpr size_t kMaxCompilers = 1024;
constexpr size_t kMaxDigests = 8192;
constexpr uint64_t kPendingCheckNs = 1000000;  // until the exec is seen complete
// While it runs: after 5 ms, then twice as long each time up to this (a long-lived compiler, a
// `go run` say, costs little).
constexpr uint64_t kLongRunningCheckNs = 80000000;
// A write by a process whose program is still being hashed waits this long for the hash.
constexpr uint32_t kHashWaitMs = 2000;

std::string ReadProcFile(int32_t pid, const char* name, size_t limit = 1 << 20) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
  std::string text;
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return text;
  char buffer[8192];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buffer, size_t(n));
    if (text.size() >= limit) break;
  }
  close(fd);
  return text;
}

std::vector<std::string> SplitNul(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\0', start);
    if (end == std::string::npos) end = text.size();
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

bool RootOnly(const struct stat& st) {
  return st.st_uid == 0 && !(st.st_mode & (S_IWGRP | S_IWOTH));
}

// The loader's variables that put other code into a program.
bool LoaderInjected(const std::string& environ) {
  for (const std::string& entry : SplitNul(environ)) {
    for (const char* name : {"LD_PRELOAD=", "LD_AUDIT=", "LD_LIBRARY_PATH=", "GCONV_PATH="}) {
      if (entry.rfind(name, 0) == 0 && entry.size() > strlen(name)) return true;
    }
  }
  return false;
}

// gcc's -fplugin=, ld's -plugin / --plugin[=]: code the compiler loads later, checked now.
bool UserPlugin(const std::string& cmdline) {
  const std::vector<std::string> args = SplitNul(cmdline);
  for (size_t i = 0; i < args.size(); ++i) {
    std::string plugin;
    const std::string& arg = args[i];
    if ((arg == "-plugin" || arg == "--plugin") && i + 1 < args.size()) {
      plugin = args[i + 1];
    } else {
      for (const char* prefix : {"-fplugin=", "--plugin=", "-plugin="}) {
        if (arg.rfind(prefix, 0) == 0) plugin = arg.substr(strlen(prefix));
      }
    }
    if (plugin.find('/') == std::string::npos) continue;  // a name from the toolchain's own dir
    struct stat st;
    if (stat(plugin.c_str(), &st) != 0 || !RootOnly(st)) return true;
  }
  return false;
}

enum class Mappings : uint8_t { kRootOnly, kUserCode, kChanged };

// Whether every executable mapping in a reading of /proc/<pid>/maps is backed by a file only root
// can write (the mapped inode itself, through map_files, not whatever its path names now).
// kChanged: a mapping was gone by the time it was looked at (a library unloaded, a region split).
Mappings CheckMappings(int32_t pid, const std::string& maps) {
  bool changed = false;
  size_t start = 0;
  while (start < maps.size()) {
    size_t end = maps.find('\n', start);
    if (end == std::string::npos) end = maps.size();
    const std::string line = maps.substr(start, end - start);
    start = end + 1;
    unsigned long from = 0, to = 0;
    char perms[8];
    if (sscanf(line.c_str(), "%lx-%lx %7s", &from, &to, perms) != 3 || perms[2] != 'x') continue;
    if (line.find('/') == std::string::npos) continue;  // [vdso], anonymous
    char link[128];
    snprintf(link, sizeof(link), "/proc/%d/map_files/%lx-%lx", pid, from, to);
    struct stat st;
    if (stat(link, &st) == 0) {
      if (!RootOnly(st)) return Mappings::kUserCode;
    } else if (errno == ENOENT) {
      changed = true;  // no mapping has exactly that range any more
    } else {
      return Mappings::kUserCode;
    }
  }
  return changed ? Mappings::kChanged : Mappings::kRootOnly;
}

// A linker unloads its plugin right after closing its output, which is when it is looked at last:
// a mapping gone before it could be looked at proves nothing, so the maps are read again. One that
// keeps changing under every reading counts as user code.
constexpr int kMapsReadings = 4;

bool UserCodeMapped(int32_t pid) {
  for (int reading = 0; reading < kMapsReadings; ++reading) {
    const Mappings mappings = CheckMappings(pid, ReadProcFile(pid, "maps"));
    if (mappings != Mappings::kChanged) return mappings == Mappings::kUserCode;
  }
  return true;
}

int PidfdOpen(int32_t pid) {
  return int(syscall(SYS_pidfd_open, pid, 0));
}

bool PidfdAlive(int pidfd) {
  return syscall(SYS_pidfd_send_signal, pidfd, 0, nullptr, 0) == 0;
}

// A file the kernel would run as a program: ELF, executable or shared object.
bool ExecutableElf(int fd) {
  unsigned char header[18];
  if (pread(fd, header, sizeof(header), 0) != ssize_t(sizeof(header))) return false;
  if (memcmp(header,
             "\x7f"
             "ELF",
             4) != 0)
    return false;
  const unsigned type =
      header[5] == 2 ? (header[16] << 8 | header[17]) : (header[16] | header[17] << 8);
  return type == 2 || type == 3;
}

// No process holds the file open for writing (or mapped writable): a read lease is refused then.
bool NoWriters(int fd) {
  if (fcntl(fd, F_SETLEASE, F_RDLCK) != 0) return false;
  fcntl(fd, F_SETLEASE, F_UNLCK);
  return true;
}

// The real path of a 64-bit ELF's PT_INTERP (the loader the kernel opens next), if it has one.
std::string Interpreter(int fd) {
  Elf64_Ehdr header;
  if (pread(fd, &header, sizeof(header), 0) != ssize_t(sizeof(header)) ||
      memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 || header.e_ident[EI_CLASS] != ELFCLASS64 ||
      header.e_phentsize != sizeof(Elf64_Phdr) || header.e_phnum > 256)
    return std::string();
  for (unsigned i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr program;
    if (pread(fd, &program, sizeof(program), off_t(header.e_phoff + i * sizeof(program))) !=
        ssize_t(sizeof(program)))
      return std::string();
    if (program.p_type != PT_INTERP || program.p_filesz == 0 || program.p_filesz > 4096) continue;
    std::string path(program.p_filesz, '\0');
    if (pread(fd, &path[0], path.size(), off_t(program.p_offset)) != ssize_t(path.size()))
      return std::string();
    path.resize(strnlen(path.c_str(), path.size()));
    char resolved[PATH_MAX];
    return realpath(path.c_str(), resolved) ? std::string(resolved) : std::string();
  }
  return std::string();
}

bool HashFile(int fd, Digest* digest, uint64_t* bytes) {
  static thread_local std::vector<uint8_t> buffer(1 << 20);
  Sha256 sha;
  uint64_t offset = 0;
  for (;;) {
    const ssize_t n = pread(fd, buffer.data(), buffer.size(), off_t(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) break;
    sha.Update(buffer.data(), size_t(n));
    offset += uint64_t(n);
  }
  *digest = sha.Finish();
  *bytes = offset;
  return true;
}

// Not the ctime: a linker makes its output executable (chmod) right after closing it.
bool SameContent(const struct stat& a, const struct stat& b) {
  return a.st_size == b.st_size && Nanos(a.st_mtim) == Nanos(b.st_mtim);
}

}  // namespace

FanotifyBuildTracker::FanotifyBuildTracker(std::vector<std::string> watch_paths)
    : watch_paths_(std::move(watch_paths)) {}

FanotifyBuildTracker::~FanotifyBuildTracker() {
  Stop();
}

bool FanotifyBuildTracker::Start(Hooks hooks, std::string* error) {
  if (running_) return true;
  hooks_ = std::move(hooks);
  // A bounded queue: a lost write can only lose a transitive allow (see Drain), never make one.
  group_ = fanotify_init(FAN_CLOEXEC | FAN_CLASS_NOTIF | FAN_NONBLOCK,
                         O_RDONLY | O_LARGEFILE | O_CLOEXEC | O_NOATIME);
  if (group_ < 0) {
    *error = std::string("fanotify_init (build tracking) failed: ") + strerror(errno);
    return false;
  }
  wake_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  sync_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_ < 0 || sync_ < 0 || !Mark(error)) {
    if (error->empty()) *error = std::string("build tracking set-up failed: ") + strerror(errno);
    Stop();
    return false;
  }
  stopping_ = false;
  running_ = true;
  hash_stopping_ = false;
  hasher_ = std::thread([this] { HashLoop(); });
  thread_ = std::thread([this] { Loop(); });
  return true;
}

bool FanotifyBuildTracker::Mark(std::string* error) {
  std::map<dev_t, std::string> execs, writes;
  for (const MountEntry& mount : ParseMountInfo(ReadProcFile(getpid(), "mountinfo", 16 << 20))) {
    if (mount.noexec || !IsLocalExecutableFilesystem(mount.fstype)) continue;
    const dev_t device = makedev(mount.major, mount.minor);
    execs.emplace(device, mount.mount_point);
    if (watch_paths_.empty()) writes.emplace(device, mount.mount_point);
  }
  for (const std::string& path : watch_paths_) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) {
      *error = "cannot track writes below " + path + ": " + strerror(errno);
      return false;
    }
    writes.emplace(st.st_dev, path);
    execs.emplace(st.st_dev, path);
  }
  for (const auto& [device, path] : execs) {
    // A filesystem that refuses the mark (a mount of one) only hides the execs found there.
    fanotify_mark(group_, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN_EXEC, AT_FDCWD,
                  path.c_str());
  }
  for (const auto& [device, path] : writes) {
    if (fanotify_mark(group_, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_CLOSE_WRITE, AT_FDCWD,
                      path.c_str()) != 0) {
      *error = "cannot track writes below " + path + ": " + strerror(errno);
      return false;
    }
  }
  return true;
}

void FanotifyBuildTracker::Stop() {
  if (running_.exchange(false)) {
    stopping_ = true;
    const uint64_t one = 1;
    ssize_t ignored = write(wake_, &one, sizeof(one));
    (void)ignored;
    if (thread_.joinable()) thread_.join();
    {
      std::lock_guard<std::mutex> lock(hash_mutex_);
      hash_stopping_ = true;
    }
    hash_work_.notify_all();
    hash_done_.notify_all();
    if (hasher_.joinable()) hasher_.join();
    // What was hashed stays known (a key holds size, mtime and ctime); what was not never will be.
    for (auto it = digests_.begin(); it != digests_.end();) {
      it = it->second.done ? std::next(it) : digests_.erase(it);
    }
  }
  for (auto& [pid, compiler] : compilers_) {
    if (compiler.pidfd >= 0) close(compiler.pidfd);
  }
  compilers_.clear();
  {
    // Nobody waits on a tracker that stopped.
    std::lock_guard<std::mutex> lock(sync_mutex_);
    sync_done_ = sync_requested_;
  }
  synced_.notify_all();
  for (int* fd : {&group_, &wake_, &sync_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
}

void FanotifyBuildTracker::Loop() {
  // Ahead of the processes it follows: a linker lives a few milliseconds, and it must be seen
  // running while it does (root may raise its own priority; where it cannot, nothing changes).
  setpriority(PRIO_PROCESS, pid_t(syscall(SYS_gettid)), -10);
  std::vector<pollfd> fds;
  std::vector<int32_t> pids;
  while (!stopping_) {
    fds.assign({{group_, POLLIN, 0}, {wake_, POLLIN, 0}, {sync_, POLLIN, 0}});
    pids.clear();
    int timeout = -1;
    for (const auto& [pid, compiler] : compilers_) {
      if (compiler.exited) continue;
      fds.push_back({compiler.pidfd, POLLIN, 0});
      pids.push_back(pid);
      const bool soon = compiler.state == State::kPending || !compiler.resolved;
      timeout = soon ? 1 : (timeout < 0 ? 5 : timeout);
    }
    if (poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) break;
    if (fds[1].revents) break;
    // Exited before the drain: every file it closed is in the queue by now (its files are closed
    // before its pidfd reports the exit), so once drained its pid may name someone else.
    std::vector<int32_t> exited;
    for (size_t i = 3; i < fds.size(); ++i) {
      if (fds[i].revents) exited.push_back(pids[i - 3]);
    }
    std::vector<int> exited_pidfds;
    for (int32_t pid : exited) {
      compilers_[pid].exited = true;
      exited_pidfds.push_back(compilers_[pid].pidfd);
    }
    uint64_t counter;
    if (fds[2].revents && read(sync_, &counter, sizeof(counter)) < 0) counter = 0;
    uint64_t requested;
    {
      std::lock_guard<std::mutex> lock(sync_mutex_);
      requested = sync_requested_;
    }
    Drain();
    {
      std::lock_guard<std::mutex> lock(sync_mutex_);
      sync_done_ = requested;
    }
    synced_.notify_all();
    for (size_t i = 0; i < exited.size(); ++i) {
      // Unless the drain saw the pid exec again (a new process): that entry is not the old one.
      auto it = compilers_.find(exited[i]);
      if (it != compilers_.end() && it->second.pidfd == exited_pidfds[i]) Forget(exited[i]);
    }
    CheckDue();
  }
}

void FanotifyBuildTracker::Drain() {
  alignas(fanotify_event_metadata) char buffer[64 * 1024];
  for (;;) {
    const ssize_t length = read(group_, buffer, sizeof(buffer));
    if (length < 0 && errno == EINTR) continue;
    if (length <= 0) return;
    auto* event = reinterpret_cast<fanotify_event_metadata*>(buffer);
    for (ssize_t left = length; FAN_EVENT_OK(event, left); event = FAN_EVENT_NEXT(event, left)) {
      if (event->mask & FAN_Q_OVERFLOW) {
        // Execs may have been lost: no compiler process seen so far is trusted any more.
        for (auto& [pid, compiler] : compilers_) Taint(compiler);
      }
      if (event->fd < 0) continue;
      if (event->mask & FAN_OPEN_EXEC) OnExec(event->pid, event->fd);
      if (event->mask & FAN_CLOSE_WRITE) OnCloseWrite(event->pid, event->fd);
      close(event->fd);
    }
  }
}

void FanotifyBuildTracker::Forget(int32_t pid) {
  auto it = compilers_.find(pid);
  if (it == compilers_.end()) return;
  if (it->second.pidfd >= 0) close(it->second.pidfd);
  compilers_.erase(it);
}

void FanotifyBuildTracker::Taint(Compiler& compiler) {
  if (compiler.state != State::kTainted) counters_.tainted++;
  compiler.state = State::kTainted;
}

namespace {
// Programs hashed by any tracker of this process, kept across a monitor's restart (the key holds
// size, mtime and ctime, so a changed file is a new key): the toolchain is hashed once.
std::mutex g_known_mutex;
std::unordered_map<FileKey, std::optional<Digest>, FileKeyHash> g_known;

void RememberDigest(const FileKey& key, const std::optional<Digest>& digest) {
  std::lock_guard<std::mutex> lock(g_known_mutex);
  if (g_known.size() >= kMaxDigests) g_known.clear();
  g_known[key] = digest;
}
}  // namespace

std::optional<std::optional<Digest>> FanotifyBuildTracker::KnownDigest(const FileKey& key) {
  {
    std::lock_guard<std::mutex> lock(g_known_mutex);
    auto known = g_known.find(key);
    if (known != g_known.end()) return known->second;
  }
  std::lock_guard<std::mutex> lock(hash_mutex_);
  auto it = digests_.find(key);
  if (it == digests_.end() || !it->second.done) return std::nullopt;
  return it->second.ok ? std::optional<Digest>(it->second.digest) : std::optional<Digest>();
}

void FanotifyBuildTracker::RequestHash(const FileKey& key, int fd) {
  std::lock_guard<std::mutex> lock(hash_mutex_);
  if (digests_.count(key)) return;  // being hashed already
  if (digests_.size() >= kMaxDigests) {
    for (auto it = digests_.begin(); it != digests_.end();) {
      it = it->second.done ? digests_.erase(it) : std::next(it);
    }
  }
  const int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return;
  digests_[key] = HashResult();
  hash_queue_.emplace_back(key, copy);
  hash_work_.notify_one();
}

void FanotifyBuildTracker::HashLoop() {
  std::unique_lock<std::mutex> lock(hash_mutex_);
  for (;;) {
    hash_work_.wait(lock, [&] { return hash_stopping_ || !hash_queue_.empty(); });
    if (hash_stopping_) break;
    // Smallest first: a linker (a few MiB) waiting behind cc1 (30) is what a build is waiting on.
    auto next =
        std::min_element(hash_queue_.begin(), hash_queue_.end(),
                         [](const auto& a, const auto& b) { return a.first.size < b.first.size; });
    auto [key, fd] = *next;
    hash_queue_.erase(next);
    lock.unlock();
    HashResult result;
    uint64_t bytes = 0;
    struct stat after;
    result.ok = HashFile(fd, &result.digest, &bytes) && fstat(fd, &after) == 0 &&
                uint64_t(after.st_size) == key.size && Nanos(after.st_mtim) == key.mtime_ns &&
                Nanos(after.st_ctim) == key.ctime_ns && bytes == key.size;
    result.done = true;
    close(fd);
    lock.lock();
    RememberDigest(key, result.ok ? std::optional<Digest>(result.digest) : std::nullopt);
    digests_[key] = result;
    hash_done_.notify_all();
  }
  for (auto& [key, fd] : hash_queue_) close(fd);
  hash_queue_.clear();
}

bool FanotifyBuildTracker::Resolve(Compiler& compiler, uint32_t wait_ms) {
  if (compiler.resolved) return true;
  std::optional<std::optional<Digest>> known = KnownDigest(compiler.key);
  if (!known && wait_ms > 0) {
    std::unique_lock<std::mutex> lock(hash_mutex_);
    hash_done_.wait_for(lock, std::chrono::milliseconds(wait_ms), [&] {
      auto it = digests_.find(compiler.key);
      return hash_stopping_ || it == digests_.end() || it->second.done;
    });
    lock.unlock();
    known = KnownDigest(compiler.key);
  }
  if (!known) return wait_ms == 0;  // not known yet: still a candidate
  if (!*known || !hooks_.is_compiler(**known)) return false;
  compiler.sha256 = **known;
  compiler.resolved = true;
  counters_.compilers_seen++;
  return true;
}

void FanotifyBuildTracker::OnExec(int32_t pid, int fd) {
  // The kernel opens a program's interpreter (ld.so) for exec too, right after the program: the
  // compiler's own PT_INTERP, once, keeps its entry. Anything else replaced what the pid ran.
  auto current = compilers_.find(pid);
  if (current != compilers_.end() && !current->second.interpreter.empty() &&
      current->second.interpreter == PathOfFd(fd)) {
    current->second.interpreter.clear();
    return;
  }
  Forget(pid);
  struct stat st;
  // A compiler is a file only root can write: a user's copy (same hash or not) is not one.
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || UserWritable(fd, st) ||
      uint64_t(st.st_size) > kMaxCompilerBytes)
    return;
  const FileKey key{uint64_t(st.st_dev), uint64_t(st.st_ino), uint64_t(st.st_size),
                    Nanos(st.st_mtim), Nanos(st.st_ctim)};
  const std::optional<std::optional<Digest>> known = KnownDigest(key);
  if (known && (!*known || !hooks_.is_compiler(**known))) return;
  if (compilers_.size() >= kMaxCompilers) {
    counters_.refused++;
    return;
  }
  // Pinned and checked now, while it surely runs; whether it is a compiler at all may be known
  // only once its file is hashed.
  const int pidfd = PidfdOpen(pid);
  if (pidfd < 0) {
    // Gone already (and reaped): never checked, so nothing it wrote mints.
    if (known) counters_.missed++;
    return;
  }
  if (!known) RequestHash(key, fd);
  Compiler compiler;
  compiler.key = key;
  compiler.path = PathOfFd(fd);
  compiler.interpreter = Interpreter(fd);
  compiler.pidfd = pidfd;
  Compiler& stored = compilers_[pid] = std::move(compiler);
  if (known) Resolve(stored, 0);
  Verify(pid, stored);
}

void FanotifyBuildTracker::Verify(int32_t pid, Compiler& compiler) {
  if (compiler.state == State::kTainted || compiler.exited) return;
  if (compiler.state == State::kPending) {
    compiler.next_check_ns = MonotonicNs() + kPendingCheckNs;
  } else {
    compiler.check_interval_ns = std::min(kLongRunningCheckNs, compiler.check_interval_ns * 2);
    compiler.next_check_ns = MonotonicNs() + compiler.check_interval_ns;
  }
  char exe[64];
  snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
  struct stat st;
  if (stat(exe, &st) != 0) return;  // gone, or a zombie: nothing more to learn
  if (uint64_t(st.st_dev) != compiler.key.dev || uint64_t(st.st_ino) != compiler.key.inode) {
    // Still the old program (its exec is not complete), or, once seen running, another program
    // exec'd where we could not see it.
    if (compiler.state == State::kVerified) Taint(compiler);
    return;
  }
  const std::string status = ReadProcFile(pid, "status");
  const char* tracer = strstr(status.c_str(), "\nTracerPid:");
  const bool tainted = !tracer || atoi(tracer + 11) != 0 ||
                       LoaderInjected(ReadProcFile(pid, "environ")) ||
                       UserPlugin(ReadProcFile(pid, "cmdline")) || UserCodeMapped(pid);
  // What was read counts only if the process the pidfd names is still there afterwards (a pid is
  // not reused while its process, or its zombie, exists); one that left meanwhile leaves nothing
  // but unreadable files behind, which prove nothing either way.
  if (!PidfdAlive(compiler.pidfd) || stat(exe, &st) != 0) return;
  if (tainted) {
    Taint(compiler);
  } else {
    compiler.state = State::kVerified;
  }
}

void FanotifyBuildTracker::CheckDue() {
  const uint64_t now = MonotonicNs();
  std::vector<int32_t> not_compilers;
  for (auto& [pid, compiler] : compilers_) {
    if (!Resolve(compiler, 0)) {
      not_compilers.push_back(pid);
    } else if (!compiler.exited && compiler.state != State::kTainted &&
               now >= compiler.next_check_ns) {
      Verify(pid, compiler);
    }
  }
  for (int32_t pid : not_compilers) Forget(pid);
}

void FanotifyBuildTracker::OnCloseWrite(int32_t pid, int fd) {
  counters_.writes++;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return;
  auto it = compilers_.find(pid);
  // Sources, object files and the rest of a build never mint, whoever wrote them: settled without
  // waiting on anything, so a write-heavy job costs a lookup per file.
  if (it == compilers_.end() || uint64_t(st.st_size) > kMaxOutputBytes || !ExecutableElf(fd)) {
    if (hooks_.overwritten(fd, uint64_t(st.st_dev), uint64_t(st.st_ino))) counters_.forgotten++;
    return;
  }
  Compiler& compiler = it->second;
  // Its exec came first, so its file is being hashed already: what it is decides this write.
  if (!Resolve(compiler, kHashWaitMs) || !compiler.resolved) {
    Forget(pid);
    if (hooks_.overwritten(fd, uint64_t(st.st_dev), uint64_t(st.st_ino))) counters_.forgotten++;
    return;
  }
  counters_.compiler_writes++;
  Verify(pid, compiler);  // still running: looked at once more, as it wrote
  if (compiler.state != State::kVerified) {
    counters_.refused++;
    hooks_.overwritten(fd, uint64_t(st.st_dev), uint64_t(st.st_ino));
    return;
  }
  Mint(fd, st, compiler);
}

void FanotifyBuildTracker::Mint(int fd, const struct stat& st, const Compiler& compiler) {
  const uint64_t dev = uint64_t(st.st_dev), inode = uint64_t(st.st_ino);
  // Someone else holding it open for writing could change it after we read it.
  Digest digest;
  uint64_t bytes = 0;
  struct stat after;
  if (!NoWriters(fd) || !HashFile(fd, &digest, &bytes) || !NoWriters(fd) ||
      fstat(fd, &after) != 0 || !SameContent(st, after) || bytes != uint64_t(st.st_size)) {
    counters_.refused++;
    hooks_.overwritten(fd, dev, inode);
    return;
  }
  hooks_.built(fd, dev, inode, digest, compiler.path, compiler.sha256);
  counters_.minted++;
}

bool FanotifyBuildTracker::Sync(uint32_t timeout_ms) {
  std::unique_lock<std::mutex> lock(sync_mutex_);
  if (!running_) return true;
  const uint64_t ticket = ++sync_requested_;
  const uint64_t one = 1;
  ssize_t ignored = write(sync_, &one, sizeof(one));
  (void)ignored;
  return synced_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                          [&] { return sync_done_ >= ticket || !running_; });
}

BuildTrackerCounters FanotifyBuildTracker::Counters() const {
  BuildTrackerCounters c;
  c.writes = counters_.writes;
  c.compiler_writes = counters_.compiler_writes;
  c.minted = counters_.minted;
  c.refused = counters_.refused;
  c.forgotten = counters_.forgotten;
  c.tainted = counters_.tainted;
  c.compilers_seen = counters_.compilers_seen;
  c.missed = counters_.missed;
  return c;
}

std::unique_ptr<BuildTracker> MakeBuildTracker(const std::vector<std::string>& watch_paths) {
  return std::make_unique<FanotifyBuildTracker>(watch_paths);
}

}  // namespace gatehouse
