#include "authorizer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace gatehouse {

uint64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

const char* AnsweredByName(AnsweredBy by) {
  switch (by) {
    case AnsweredBy::kPolicy: return "policy";
    case AnsweredBy::kCache: return "cache";
    case AnsweredBy::kWatchdog: return "watchdog";
    case AnsweredBy::kQueueFull: return "queue-full";
    case AnsweredBy::kError: return "error";
  }
  return "unknown";
}

namespace {

int64_t Nanos(const timespec& ts) { return int64_t(ts.tv_sec) * 1000000000ll + ts.tv_nsec; }

// Reads PPid, Uid and Gid of a process from /proc (procfs is never watched, so this cannot wait
// on ourselves).
Credentials ReadCredentials(int32_t pid) {
  Credentials credentials;
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/status", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return credentials;
  char buffer[4096];
  ssize_t n = read(fd, buffer, sizeof(buffer) - 1);
  close(fd);
  if (n <= 0) return credentials;
  buffer[n] = '\0';
  if (const char* line = strstr(buffer, "\nPPid:")) credentials.ppid = atoi(line + 6);
  if (const char* line = strstr(buffer, "\nUid:")) credentials.uid = uint32_t(strtoul(line + 5, nullptr, 10));
  if (const char* line = strstr(buffer, "\nGid:")) credentials.gid = uint32_t(strtoul(line + 5, nullptr, 10));
  return credentials;
}

std::string PathOfFd(int fd) {
  char link[64], target[4096];
  snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof(target) - 1);
  if (n < 0) return std::string();
  return std::string(target, size_t(n));
}

}  // namespace

Authorizer::Authorizer(std::unique_ptr<EventSource> source, AuthorizerOptions options,
                       Notify notify)
    : source_(std::move(source)),
      options_(options),
      notify_(std::move(notify)),
      self_pid_(getpid()),
      deadline_ms_(options.deadline_ms),
      mode_(options.mode),
      fail_closed_(options.fail_closed) {}

Authorizer::~Authorizer() { Stop(); }

bool Authorizer::Start(std::string* error) {
  if (running_) return true;
  stopping_ = false;
  for (uint32_t i = 0; i < std::max<uint32_t>(1, options_.workers); ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
  watchdog_ = std::thread([this] { WatchdogLoop(); });
  running_ = true;
  if (!source_->Start(this, error)) {
    Stop();
    return false;
  }
  return true;
}

void Authorizer::Stop() {
  if (!running_.exchange(false)) return;
  // The source goes first: it releases everything the kernel still waits on, so no exec can be
  // stuck behind a worker we are about to join.
  source_->Stop();
  stopping_ = true;
  work_ready_.notify_all();
  watchdog_wake_.notify_all();
  for (auto& worker : workers_) worker.join();
  workers_.clear();
  watchdog_.join();
  std::vector<std::shared_ptr<Pending>> leftovers;
  {
    std::lock_guard<std::mutex> lock(work_mutex_);
    for (auto& entry : in_flight_) {
      for (auto& pending : entry.second) leftovers.push_back(pending);
    }
    in_flight_.clear();
    work_.clear();
  }
  for (auto& pending : leftovers) {
    Answer(*pending, FailDecision(), std::nullopt, AnsweredBy::kError);
    Finish(*pending, std::string(), "the monitor stopped before this file was hashed");
  }
  std::lock_guard<std::mutex> lock(watchdog_mutex_);
  watchdog_queue_.clear();
}

Decision Authorizer::FailDecision() const {
  return mode_ == ClientMode::kLockdown && fail_closed_ ? Decision::kBlockUnknown
                                                        : Decision::kAllowUnknown;
}

void Authorizer::SetMode(ClientMode mode, bool fail_closed) {
  std::unique_lock<std::shared_mutex> lock(policy_mutex_);
  const bool changed = mode_ != mode;
  mode_ = mode;
  fail_closed_ = fail_closed;
  if (changed) Invalidate();
}

void Authorizer::SetRules(std::vector<Rule> rules) {
  RuleTable table;
  for (const Rule& rule : rules) table.Put(rule);
  std::unique_lock<std::shared_mutex> lock(policy_mutex_);
  rules_ = std::move(table);
  Invalidate();
}

void Authorizer::SetTable(RuleTable table) {
  std::unique_lock<std::shared_mutex> lock(policy_mutex_);
  rules_ = std::move(table);
  Invalidate();
}

void Authorizer::PutBinaryRules(const std::vector<std::pair<Digest, Policy>>& rules) {
  std::unique_lock<std::shared_mutex> lock(policy_mutex_);
  rules_.ReserveMoreBinary(rules.size());
  for (const auto& [digest, policy] : rules) rules_.PutBinary(digest, policy);
  Invalidate();
}

void Authorizer::SetPackages(PackageTable packages, bool enabled) {
  std::unique_lock<std::shared_mutex> lock(policy_mutex_);
  packages_ = std::move(packages);
  trust_packages_ = enabled;
  Invalidate();
}

void Authorizer::SetScopes(Scopes scopes) {
  std::unique_lock<std::shared_mutex> lock(policy_mutex_);
  scopes_ = std::move(scopes);
  Invalidate();
}

void Authorizer::ApplyRuleChanges(const std::vector<RuleChange>& changes) {
  std::unique_lock<std::shared_mutex> lock(policy_mutex_);
  for (const RuleChange& change : changes) {
    if (change.remove) {
      rules_.Remove(change.rule.type, change.rule.identifier);
    } else {
      rules_.Put(change.rule);
    }
  }
  Invalidate();
}

size_t Authorizer::RuleCount() const {
  std::shared_lock<std::shared_mutex> lock(policy_mutex_);
  return rules_.Size();
}

std::vector<uint64_t> Authorizer::TimeLookups(const std::vector<Digest>& digests) const {
  std::vector<uint64_t> times;
  times.reserve(digests.size());
  Identity identity;
  for (const Digest& digest : digests) {
    identity.sha256 = digest;
    const uint64_t start = MonotonicNs();
    {
      std::shared_lock<std::shared_mutex> lock(policy_mutex_);
      volatile Decision decision = Decide(rules_, identity, mode_).decision;
      (void)decision;
    }
    times.push_back(MonotonicNs() - start);
  }
  return times;
}

void Authorizer::FlushCaches() {
  std::unique_lock<std::shared_mutex> lock(policy_mutex_);
  Invalidate();
}

// Callers hold policy_mutex_ (shared or exclusive), so no decision lands in between.
void Authorizer::Invalidate() {
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    cache_.clear();
  }
  source_->FlushIgnores();
  counters_.cache_flushes++;
}

void Authorizer::Answer(Pending& pending, Decision decision, const std::optional<Rule>& rule,
                        AnsweredBy by) {
  std::lock_guard<std::mutex> lock(pending.mutex);
  if (pending.answered) return;
  pending.answered = true;
  pending.decision = decision;
  pending.rule = rule;
  pending.answered_by = by;
  pending.latency_ns = MonotonicNs() - pending.event.received_ns;
  counters_.pending_answers--;
  (IsAllow(decision) ? counters_.allowed : counters_.blocked)++;
  const uint64_t latency_us = pending.latency_ns / 1000;
  size_t bucket = 0;
  while (bucket < kLatencyBucketCount - 1 && latency_us > kLatencyBucketsUs[bucket]) bucket++;
  counters_.latency[bucket]++;
  switch (by) {
    case AnsweredBy::kWatchdog: counters_.deadline_answers++; break;
    case AnsweredBy::kQueueFull: counters_.queue_full_answers++; break;
    case AnsweredBy::kError: counters_.error_answers++; break;
    default: break;
  }
  // Last, so that whoever hears the answer also sees it counted.
  source_->Respond(pending.event, IsAllow(decision));
}

void Authorizer::Finish(Pending& pending, const std::string& sha256, const std::string& error) {
  DecisionRecord record;
  record.pid = pending.event.pid;
  record.credentials = pending.event.credentials ? *pending.event.credentials
                                                 : ReadCredentials(pending.event.pid);
  record.path = PathOfFd(pending.event.fd);
  close(pending.event.fd);
  pending.event.fd = -1;
  record.sha256 = sha256;
  record.size = pending.key.size;
  record.dev = pending.key.dev;
  record.inode = pending.key.inode;
  {
    std::lock_guard<std::mutex> lock(pending.mutex);
    record.decision = pending.decision;
    record.rule = pending.rule;
    record.answered_by = pending.answered_by;
    record.latency_us = pending.latency_ns / 1000;
  }
  record.error = error;
  if (notify_(std::move(record))) {
    counters_.notified++;
  } else {
    counters_.dropped_notifications++;
  }
}

void Authorizer::OnExecEvent(const ExecEvent& event) {
  counters_.events++;
  // Our own process (any thread) never waits on itself: answered before any other work.
  if (event.pid == self_pid_) {
    source_->Respond(event, true);
    close(event.fd);
    counters_.self_allowed++;
    return;
  }
  auto pending = std::make_shared<Pending>();
  pending->event = event;
  counters_.pending_answers++;

  struct stat st;
  if (fstat(event.fd, &st) != 0) {
    const std::string error = std::string("fstat failed: ") + strerror(errno);
    Answer(*pending, FailDecision(), std::nullopt, AnsweredBy::kError);
    Finish(*pending, std::string(), error);
    return;
  }
  pending->key = FileKey{uint64_t(st.st_dev), uint64_t(st.st_ino), uint64_t(st.st_size),
                         Nanos(st.st_mtim), Nanos(st.st_ctim)};

  std::optional<CacheEntry> hit;
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(DevInode{pending->key.dev, pending->key.inode});
    if (it != cache_.end()) {
      const CacheEntry& entry = it->second;
      if (entry.key == pending->key &&
          (entry.expires_ns == 0 || entry.expires_ns > event.received_ns)) {
        hit = entry;
      } else {
        cache_.erase(it);
      }
    }
  }
  if (hit) {
    counters_.cache_hits++;
    // Read while the process is still waiting on us: a blocked one may be gone a moment later.
    if (!pending->event.credentials) pending->event.credentials = ReadCredentials(event.pid);
    Answer(*pending, hit->verdict.decision, hit->verdict.rule, AnsweredBy::kCache);
    Finish(*pending, ToHex(hit->sha256), std::string());
    return;
  }
  counters_.cache_misses++;

  {
    std::lock_guard<std::mutex> lock(watchdog_mutex_);
    watchdog_queue_.push_back(pending);
  }
  watchdog_wake_.notify_one();

  bool queue_full = false;
  {
    std::lock_guard<std::mutex> lock(work_mutex_);
    auto it = in_flight_.find(pending->key);
    if (it != in_flight_.end()) {
      // The same file is being hashed already: wait for that result instead of hashing again.
      it->second.push_back(pending);
      counters_.coalesced++;
      return;
    }
    if (work_.size() >= options_.queue_capacity) {
      queue_full = true;
    } else {
      in_flight_[pending->key].push_back(pending);
      work_.push_back(pending);
    }
  }
  if (queue_full) {
    Answer(*pending, FailDecision(), std::nullopt, AnsweredBy::kQueueFull);
    Finish(*pending, std::string(), "too many files waiting to be hashed");
    return;
  }
  work_ready_.notify_one();
}

// SHA-256 of the whole file; when md5 is given, its MD5 too, from the same reads.
bool Authorizer::HashFile(int fd, Digest* digest, uint64_t* bytes, Md5Digest* md5) {
  static thread_local std::vector<uint8_t> buffer(1 << 20);
  posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  Sha256 hasher;
  Md5 md5_hasher;
  uint64_t offset = 0;
  for (;;) {
    ssize_t n = pread(fd, buffer.data(), buffer.size(), off_t(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) break;
    hasher.Update(buffer.data(), size_t(n));
    if (md5) md5_hasher.Update(buffer.data(), size_t(n));
    offset += uint64_t(n);
    if (stopping_) {
      errno = ECANCELED;
      return false;
    }
  }
  *digest = hasher.Finish();
  if (md5) *md5 = md5_hasher.Finish();
  *bytes = offset;
  return true;
}

void Authorizer::WorkerLoop() {
  for (;;) {
    std::shared_ptr<Pending> leader;
    {
      std::unique_lock<std::mutex> lock(work_mutex_);
      work_ready_.wait(lock, [this] { return stopping_ || !work_.empty(); });
      if (stopping_) return;
      leader = std::move(work_.front());
      work_.pop_front();
    }
    // The path is needed only for scopes and package trust; the MD5 only for a file a package
    // claims.
    std::string path;
    bool package_claimed = false;
    {
      std::shared_lock<std::shared_mutex> policy(policy_mutex_);
      const bool trusting = trust_packages_ && !packages_.empty();
      if (trusting || !scopes_.blocked.empty() || !scopes_.allowed.empty()) {
        path = PathOfFd(leader->event.fd);
      }
      package_claimed = trusting && packages_.count(path) > 0;
    }
    Digest digest{};
    Md5Digest md5{};
    uint64_t bytes = 0;
    const bool hashed = HashFile(leader->event.fd, &digest, &bytes, package_claimed ? &md5 : nullptr);
    const std::string hash_error = hashed ? std::string() : std::string("read failed: ") + strerror(errno);
    if (hashed) {
      counters_.files_hashed++;
      counters_.bytes_hashed += bytes;
    }

    std::vector<std::shared_ptr<Pending>> group;
    {
      std::shared_lock<std::shared_mutex> policy(policy_mutex_);
      {
        std::lock_guard<std::mutex> lock(work_mutex_);
        auto it = in_flight_.find(leader->key);
        if (it != in_flight_.end()) {
          group = std::move(it->second);
          in_flight_.erase(it);
        }
      }
      if (group.empty()) group.push_back(leader);
      if (!hashed) {
        for (auto& pending : group) Answer(*pending, FailDecision(), std::nullopt, AnsweredBy::kError);
      } else {
        Identity identity;
        identity.sha256 = digest;
        bool package_intact = false;
        if (package_claimed && trust_packages_) {
          auto claimed = packages_.find(path);
          package_intact = claimed != packages_.end() && claimed->second == md5;
        }
        const Verdict verdict = Decide(rules_, identity, mode_, scopes_, path, package_intact);
        const bool allow = IsAllow(verdict.decision);
        const uint64_t expires =
            allow ? 0 : MonotonicNs() + uint64_t(options_.deny_cache_ms) * 1000000ull;
        {
          // Cached (and marked, below) before anyone hears the answer, so that an exec that
          // follows it at once is a hit.
          std::lock_guard<std::mutex> lock(cache_mutex_);
          if (cache_.size() >= options_.cache_capacity) cache_.erase(cache_.begin());
          cache_[DevInode{leader->key.dev, leader->key.inode}] =
              CacheEntry{leader->key, verdict, digest, expires};
        }
        if (allow) {
          source_->IgnoreUntilModified(leader->event);
          counters_.ignore_marks++;
          // A write that landed between our read and the mark would otherwise hide behind it.
          struct stat after;
          if (fstat(leader->event.fd, &after) != 0 || uint64_t(after.st_size) != leader->key.size ||
              Nanos(after.st_mtim) != leader->key.mtime_ns ||
              Nanos(after.st_ctim) != leader->key.ctime_ns) {
            Invalidate();
          }
        }
        for (auto& pending : group) {
          // Read while the process is still waiting on us: a blocked one may be gone a moment later.
          if (!pending->event.credentials) pending->event.credentials = ReadCredentials(pending->event.pid);
          Answer(*pending, verdict.decision, verdict.rule, AnsweredBy::kPolicy);
        }
      }
    }
    const std::string hex = hashed ? ToHex(digest) : std::string();
    for (auto& pending : group) Finish(*pending, hex, hash_error);
  }
}

void Authorizer::WatchdogLoop() {
  std::unique_lock<std::mutex> lock(watchdog_mutex_);
  while (!stopping_) {
    if (watchdog_queue_.empty()) {
      watchdog_wake_.wait(lock);
      continue;
    }
    std::shared_ptr<Pending> oldest = watchdog_queue_.front();
    {
      std::lock_guard<std::mutex> answered_lock(oldest->mutex);
      if (oldest->answered) {
        watchdog_queue_.pop_front();
        continue;
      }
    }
    const uint64_t due = oldest->event.received_ns + uint64_t(deadline_ms_.load()) * 1000000ull;
    const uint64_t now = MonotonicNs();
    if (now < due) {
      watchdog_wake_.wait_for(lock, std::chrono::nanoseconds(due - now));
      continue;
    }
    watchdog_queue_.pop_front();
    lock.unlock();
    Answer(*oldest, FailDecision(), std::nullopt, AnsweredBy::kWatchdog);
    lock.lock();
  }
}

MetricsSnapshot Authorizer::Metrics() const {
  MetricsSnapshot m{};
  m.events = counters_.events;
  m.self_allowed = counters_.self_allowed;
  m.cache_hits = counters_.cache_hits;
  m.cache_misses = counters_.cache_misses;
  m.coalesced = counters_.coalesced;
  m.files_hashed = counters_.files_hashed;
  m.bytes_hashed = counters_.bytes_hashed;
  m.deadline_answers = counters_.deadline_answers;
  m.queue_full_answers = counters_.queue_full_answers;
  m.error_answers = counters_.error_answers;
  m.allowed = counters_.allowed;
  m.blocked = counters_.blocked;
  m.notified = counters_.notified;
  m.dropped_notifications = counters_.dropped_notifications;
  m.ignore_marks = counters_.ignore_marks;
  m.cache_flushes = counters_.cache_flushes;
  m.pending_answers = counters_.pending_answers;
  {
    std::lock_guard<std::mutex> lock(work_mutex_);
    m.work_queue_depth = work_.size();
  }
  for (size_t i = 0; i < kLatencyBucketCount; ++i) m.latency_buckets[i] = counters_.latency[i];
  return m;
}

}  // namespace gatehouse
