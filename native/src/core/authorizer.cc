#include "authorizer.h"

#include "host.h"

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

Authorizer::Authorizer(std::unique_ptr<EventSource> source, std::unique_ptr<WriteGuard> guard,
                       std::unique_ptr<ExecGate> gate, AuthorizerOptions options, Notify notify,
                       std::unique_ptr<BuildTracker> tracker)
    : source_(std::move(source)),
      guard_(guard ? std::move(guard) : std::make_unique<NoWriteGuard>()),
      gate_(gate ? std::move(gate) : std::make_unique<NoExecGate>("no exec gate in this build")),
      options_(options),
      notify_(std::move(notify)),
      self_pid_(getpid()),
      deadline_ms_(options.deadline_ms),
      mode_(options.mode),
      fail_closed_(options.fail_closed),
      cache_(std::max<size_t>(1, options.cache_capacity)),
      transitive_(options.transitive_capacity),
      tracker_(std::move(tracker)),
      watchdog_({[](const Pending& p) { return p.event.received_ns; },
                 [](Pending& p) {
                   std::lock_guard<std::mutex> lock(p.mutex);
                   return p.answered;
                 },
                 // The hashing goes on: its verdict is cached for the next exec, and this exec
                 // is recorded (with the deadline as its reason) when it is done.
                 [this](Pending& p) {
                   Answer(p, FailDecision(), std::nullopt, AnsweredBy::kWatchdog,
                          reason::kDeadline);
                 }}),
      pool_(std::max<size_t>(1, options.per_user_jobs), std::max<size_t>(1, options.queue_capacity),
            {[this](Job& job) { StartJob(job); },
             [this](Job& job) { return job.hash.ReadSlice(job.leader->event.fd, stopping_); },
             [this](Job& job) { FinishJob(job); }}) {}

Authorizer::~Authorizer() {
  Stop();
}

bool Authorizer::Start(std::string* error) {
  if (running_) return true;
  stopping_ = false;
  if (!guard_->Start(
          [this](int fd, uint64_t dev, uint64_t inode) { OnWriteOpen(fd, dev, inode); })) {
    *error = std::string("write guard set-up failed: ") + strerror(errno);
    return false;
  }
  self_mount_ns_ = MountNamespace(self_pid_);
  gate_->Start([this](RouteEvent&& event) { ReportRoute(std::move(event)); });
  gate_->SetMode(mode_);
  source_->SetWatchListener(
      [this](const std::set<uint64_t>& devices, bool all) { gate_->SetWatched(devices, all); });
  pool_.Start(options_.workers);
  watchdog_.Start(deadline_ms_);
  running_ = true;
  if (!source_->Start(this, error)) {
    Stop();
    return false;
  }
  if (transitive_enabled_ && !StartTracker(error)) {
    Stop();
    return false;
  }
  return true;
}

namespace {
// Written this recently (ns) and not known as built: the exec waits for the tracker to catch up,
// at most kTrackerSyncMs.
constexpr int64_t kFreshWriteNs = 60ll * 1000000000ll;
constexpr uint32_t kTrackerSyncMs = 2500;

uint64_t WallNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

uint64_t WallMs() {
  return uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count());
}
}  // namespace

bool Authorizer::StartTracker(std::string* error) {
  std::lock_guard<std::mutex> lock(tracker_mutex_);
  if (!tracker_) {
    *error = "transitive rules need close-write tracking, which this OS or build does not have";
    return false;
  }
  if (tracker_->running()) return true;
  BuildTracker::Hooks hooks;
  hooks.is_compiler = [this](const Digest& digest) {
    Identity identity;
    identity.sha256 = digest;
    std::shared_lock<std::shared_mutex> policy(policy_mutex_);
    return rules_.Find(RuleType::kBinary, identity) == Policy::kAllowlistCompiler;
  };
  hooks.built = [this](int, uint64_t dev, uint64_t inode, const Digest& sha256,
                       const std::string& compiler, const Digest& compiler_sha256) {
    const uint64_t now = WallMs();
    transitive_.Put({dev, inode, sha256, compiler, compiler_sha256, now, now});
    // A block remembered for what the file held before goes with it.
    cache_.Forget(dev, inode);
  };
  hooks.overwritten = [this](int fd, uint64_t dev, uint64_t inode) {
    if (!transitive_.Remove(dev, inode)) return false;
    // Its allow is forgotten too, so the next exec is decided again.
    OnWriteOpen(fd, dev, inode);
    return true;
  };
  return tracker_->Start(std::move(hooks), error);
}

bool Authorizer::SetTransitive(bool enabled, std::string* error) {
  if (enabled && !tracker_) {
    *error = "transitive rules need close-write tracking, which this OS or build does not have";
    return false;
  }
  const bool was = transitive_enabled_.exchange(enabled);
  if (enabled && running_ && !StartTracker(error)) {
    transitive_enabled_ = was;
    return false;
  }
  if (!enabled && tracker_) {
    std::lock_guard<std::mutex> lock(tracker_mutex_);
    tracker_->Stop();
  }
  // Allows already given on transitive rules must not outlive the switch.
  if (was && !enabled) FlushCaches();
  return true;
}

size_t Authorizer::LoadTransitive(const std::vector<TransitiveEntry>& entries) {
  size_t loaded = 0;
  for (const TransitiveEntry& entry : entries) {
    transitive_.Put(entry);
    loaded++;
  }
  return loaded;
}

size_t Authorizer::ClearTransitive() {
  const size_t cleared = transitive_.Clear();
  if (cleared) FlushCaches();
  return cleared;
}

BuildTrackerCounters Authorizer::TrackerCounters() const {
  return tracker_ ? tracker_->Counters() : BuildTrackerCounters();
}

std::optional<TransitiveEntry> Authorizer::Built(const FileKey& key, const Digest& digest) {
  if (!transitive_enabled_) return std::nullopt;
  return transitive_.Match(key.dev, key.inode, digest, WallMs());
}

void Authorizer::Stop() {
  if (!running_.exchange(false)) return;
  if (tracker_) {
    std::lock_guard<std::mutex> lock(tracker_mutex_);
    tracker_->Stop();
  }
  // The gate opens first: nothing may be refused by a layer whose other half is going away.
  gate_->Stop();
  // The source goes first: it releases everything the kernel still waits on, so no exec can be
  // stuck behind a worker we are about to join.
  source_->Stop();
  stopping_ = true;
  pool_.Stop();
  watchdog_.Stop();
  std::vector<std::shared_ptr<Pending>> leftovers;
  {
    std::lock_guard<std::mutex> lock(work_mutex_);
    for (auto& entry : in_flight_) {
      for (auto& pending : entry.second.second) leftovers.push_back(pending);
    }
    in_flight_.clear();
  }
  for (auto& pending : leftovers) {
    Answer(*pending, FailDecision(), std::nullopt, AnsweredBy::kError, reason::kStopped);
    Finish(*pending, std::string(), "the monitor stopped before this file was hashed");
  }
  guard_->Stop();
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
  gate_->SetMode(mode);
  if (changed) Invalidate(FlushReason::kMode);
}

void Authorizer::SetRules(std::vector<Rule> rules) {
  RuleTable table;
  for (const Rule& rule : rules) table.Put(rule);
  std::unique_lock<std::shared_mutex> lock(policy_mutex_);
  rules_ = std::move(table);
  Invalidate(FlushReason::kRules);
}

void Authorizer::SetTable(RuleTable table) {
  std::unique_lock<std::shared_mutex> lock(policy_mutex_);
  rules_ = std::move(table);
  Invalidate(FlushReason::kRules);
}

void Authorizer::PutBinaryRules(const std::vector<std::pair<Digest, Policy>>& rules) {
  std::unique_lock<std::shared_mutex> lock(policy_mutex_);
  rules_.ReserveMoreBinary(rules.size());
  for (const auto& [digest, policy] : rules) rules_.PutBinary(digest, policy);
  Invalidate(FlushReason::kRules);
}

void Authorizer::SetPackages(PackageTable packages, bool enabled) {
  std::unique_lock<std::shared_mutex> lock(policy_mutex_);
  packages_ = std::move(packages);
  trust_packages_ = enabled;
  Invalidate(FlushReason::kPackages);
}

void Authorizer::SetScopes(Scopes scopes) {
  std::unique_lock<std::shared_mutex> lock(policy_mutex_);
  scopes_ = std::move(scopes);
  Invalidate(FlushReason::kScopes);
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
  Invalidate(FlushReason::kRules);
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
  Invalidate(FlushReason::kRequested);
}

// Callers hold policy_mutex_ (shared or exclusive), so no decision lands in between.
void Authorizer::Invalidate(FlushReason reason) {
  cache_.Flush(reason);
  source_->FlushIgnores();
  // With every allow forgotten, no file needs watching for writes any more.
  guard_->ReleaseAll();
  gate_->ForgetAll();
}

// The write guard saw a guarded file opened for writing: its allow is forgotten before the writer
// may go on, so the next exec of it is decided on what it then holds.
void Authorizer::OnWriteOpen(int fd, uint64_t dev, uint64_t inode) {
  cache_.Forget(dev, inode);
  source_->Unignore(fd);
  gate_->Forget(dev, inode);
  counters_.write_invalidations++;
}

void Authorizer::ReportRoute(RouteEvent&& event) {
  (event.blocked ? counters_.route_blocks : counters_.route_reports)++;
  DecisionRecord record;
  record.pid = event.pid;
  record.credentials = ReadCredentials(event.pid);
  record.credentials.uid = event.uid;
  record.path = std::move(event.name);
  record.dev = event.dev;
  record.inode = event.inode;
  record.decision = event.blocked ? Decision::kBlockUnknown : Decision::kAllowUnknown;
  record.answered_by = AnsweredBy::kPolicy;
  record.reason = event.route;
  if (notify_(std::move(record))) {
    counters_.notified++;
  } else {
    counters_.dropped_notifications++;
  }
}

std::string Authorizer::ScopePath(const Pending& pending) const {
  if (MountNamespace(pending.event.pid) != self_mount_ns_) return std::string();
  return PathOfFd(pending.event.fd);
}

void Authorizer::Answer(Pending& pending, Decision decision, const std::optional<Rule>& rule,
                        AnsweredBy by, const char* why) {
  std::lock_guard<std::mutex> lock(pending.mutex);
  if (pending.answered) return;
  pending.answered = true;
  pending.decision = decision;
  pending.rule = rule;
  pending.answered_by = by;
  pending.reason = why;
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
  record.credentials =
      pending.event.credentials ? *pending.event.credentials : ReadCredentials(pending.event.pid);
  record.path = PathOfFd(pending.event.fd);
  if (!pending.fd_kept) close(pending.event.fd);
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
    record.reason = pending.reason;
    record.latency_us = pending.latency_ns / 1000;
  }
  record.error = error;
  record.built_by = pending.built_by;
  if (notify_(std::move(record))) {
    counters_.notified++;
  } else {
    counters_.dropped_notifications++;
  }
}

void Authorizer::AnswerAtOnce(const std::shared_ptr<Pending>& pending, Decision decision,
                              const char* why, const std::string& error) {
  const AnsweredBy by = why == reason::kQueueFull || why == reason::kBusy ? AnsweredBy::kQueueFull
                                                                          : AnsweredBy::kError;
  Answer(*pending, decision, std::nullopt, by, why);
  Finish(*pending, std::string(), error);
}

// Too large to hash: decided by what does not need the content (path scopes), else unknown.
void Authorizer::DecideTooLarge(const std::shared_ptr<Pending>& pending) {
  counters_.too_large_answers++;
  Verdict verdict;
  {
    std::shared_lock<std::shared_mutex> policy(policy_mutex_);
    verdict = Decide(rules_, Identity(), mode_, scopes_, ScopePath(*pending), false);
  }
  Answer(*pending, verdict.decision, verdict.rule, AnsweredBy::kPolicy, reason::kTooLarge);
  Finish(*pending, std::string(),
         "larger than " + std::to_string(options_.max_hash_bytes) + " bytes: not hashed");
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
    AnswerAtOnce(pending, FailDecision(), reason::kUnreadable,
                 std::string("fstat failed: ") + strerror(errno));
    return;
  }
  pending->key = FileKey{uint64_t(st.st_dev), uint64_t(st.st_ino), uint64_t(st.st_size),
                         Nanos(st.st_mtim), Nanos(st.st_ctim)};
  // Read while the process is still waiting on us: a blocked one may be gone a moment later,
  // and the user is who the hashing work is shared out by.
  if (!pending->event.credentials) pending->event.credentials = ReadCredentials(event.pid);

  std::optional<DecisionCache::Entry> hit = cache_.Find(pending->key, event.received_ns);
  // A verdict made on a path holds for that path only: the same file elsewhere is asked again.
  if (hit && hit->path_bound && ScopePath(*pending) != hit->scope_path) hit.reset();
  if (hit) {
    counters_.cache_hits++;
    Answer(*pending, hit->verdict.decision, hit->verdict.rule, AnsweredBy::kCache);
    Finish(*pending, ToHex(hit->sha256), std::string());
    return;
  }
  counters_.cache_misses++;

  if (pending->key.size > options_.max_hash_bytes) {
    DecideTooLarge(pending);
    return;
  }

  watchdog_.Watch(pending);

  FairQueue<Job>::Admit admitted;
  {
    std::lock_guard<std::mutex> lock(work_mutex_);
    auto it = in_flight_.find(pending->key);
    if (it != in_flight_.end()) {
      // The same file is being hashed already: wait for that result instead of hashing again.
      it->second.second.push_back(pending);
      counters_.coalesced++;
      return;
    }
    auto job = std::make_shared<Job>();
    job->leader = pending;
    job->uid = pending->event.credentials->uid;
    admitted = pool_.Push(job->uid, job);
    if (admitted == FairQueue<Job>::Admit::kQueued) {
      in_flight_[pending->key] = {job, {pending}};
    }
  }
  if (admitted == FairQueue<Job>::Admit::kUserBusy) {
    counters_.busy_answers++;
    AnswerAtOnce(pending, FailDecision(), reason::kBusy,
                 "this user already has " + std::to_string(options_.per_user_jobs) +
                     " files waiting to be hashed");
  } else if (admitted == FairQueue<Job>::Admit::kFull) {
    AnswerAtOnce(pending, FailDecision(), reason::kQueueFull,
                 "too many files waiting to be hashed");
  }
}

namespace {}  // namespace

void Authorizer::StartJob(Job& job) {
  const int fd = job.leader->event.fd;
  struct stat st;
  job.user_writable = fstat(fd, &st) != 0 || UserWritable(fd, st);
  if (job.user_writable) {
    // Before the first byte is read, so that every write open from here on is seen.
    job.guard = guard_->Watch(fd);
    if (job.guard == WriteGuard::Begin::kUnsupported) counters_.guard_unsupported++;
  }
  // The path is needed only for scopes and package trust; the MD5 only for a file a package
  // claims.
  std::shared_lock<std::shared_mutex> policy(policy_mutex_);
  const bool trusting = trust_packages_ && !packages_.empty();
  const bool scoped = !scopes_.blocked.empty() || !scopes_.allowed.empty();
  if (trusting || scoped) job.path = PathOfFd(fd);
  // Package trust follows the content (its MD5 must match), so any path may name it; a scope
  // follows the path alone, and so only one the user cannot have staged.
  job.scoped = scoped;
  if (scoped) job.scope_path = ScopePath(*job.leader);
  job.package_claimed = trusting && packages_.count(job.path) > 0;
  job.hash.with_md5 = job.package_claimed;
  posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
}

void Authorizer::FinishJob(Job& job) {
  Pending& leader = *job.leader;
  const int fd = leader.event.fd;
  const bool hashed = job.hash.error.empty();
  Digest digest{};
  Md5Digest md5{};
  if (hashed) {
    digest = job.hash.sha256.Finish();
    if (job.package_claimed) md5 = job.hash.md5.Finish();
    counters_.files_hashed++;
    counters_.bytes_hashed += job.hash.offset;
  }
  // What was read is what will run only if nobody could write it meanwhile.
  const char* tainted = "";
  if (job.user_writable) {
    if (job.guard == WriteGuard::Begin::kWriterOpen) {
      tainted = reason::kWriterOpen;
    } else if (job.guard == WriteGuard::Begin::kGuarded && !guard_->Intact(fd)) {
      tainted = reason::kWritten;
    }
  }
  struct stat now;
  if (!*tainted && hashed &&
      (fstat(fd, &now) != 0 || uint64_t(now.st_size) != leader.key.size ||
       Nanos(now.st_mtim) != leader.key.mtime_ns || Nanos(now.st_ctim) != leader.key.ctime_ns ||
       job.hash.offset != leader.key.size)) {
    tainted = reason::kWritten;
  }
  // A build's output run right after the build: its tracking catches up first (only for a file
  // written lately that no transitive rule allows yet, so other execs never wait on it).
  if (hashed && !*tainted && transitive_enabled_ && tracker_ &&
      Nanos(now.st_mtim) + kFreshWriteNs > int64_t(WallNs()) && !Built(leader.key, digest)) {
    tracker_->Sync(kTrackerSyncMs);
  }
  // Remembering an allow needs the file unwritable by users, or watched for writes.
  const bool rememberable = !job.user_writable || job.guard == WriteGuard::Begin::kGuarded;
  bool kept = false;

  std::vector<std::shared_ptr<Pending>> group;
  {
    std::shared_lock<std::shared_mutex> policy(policy_mutex_);
    {
      std::lock_guard<std::mutex> lock(work_mutex_);
      auto it = in_flight_.find(leader.key);
      if (it != in_flight_.end()) {
        group = std::move(it->second.second);
        in_flight_.erase(it);
      }
    }
    if (group.empty()) group.push_back(job.leader);
    if (!hashed) {
      for (auto& pending : group) {
        Answer(*pending, FailDecision(), std::nullopt, AnsweredBy::kError, reason::kUnreadable);
      }
    } else {
      Identity identity;
      identity.sha256 = digest;
      bool package_intact = false;
      if (job.package_claimed && trust_packages_) {
        auto claimed = packages_.find(job.path);
        package_intact = claimed != packages_.end() && claimed->second == md5;
      }
      const std::optional<TransitiveEntry> built = Built(leader.key, digest);
      Verdict verdict = Decide(rules_, identity, mode_, scopes_, job.scope_path, package_intact,
                               built.has_value());
      const std::string built_by =
          verdict.decision == Decision::kAllowTransitive ? built->compiler : std::string();
      bool allow = IsAllow(verdict.decision);
      const char* why = "";
      if (*tainted) {
        (tainted == reason::kWriterOpen ? counters_.writer_open_answers
                                        : counters_.written_answers)++;
        why = tainted;
        // The content may not be what runs: in LOCKDOWN no allow stands on it (a block does).
        if (allow && mode_ == ClientMode::kLockdown) {
          verdict = Verdict{Decision::kBlockUnknown, std::nullopt};
          allow = false;
        }
      } else if (allow && verdict.decision == Decision::kAllowScope) {
        // Allowed for where it is, not for what it is: decided again at the next exec, so that
        // the allow never follows the file (a hard link, a bind mount) to another path.
      } else if (allow && rememberable) {
        {
          // Cached (and marked, below) before anyone hears the answer, so that an exec that
          // follows it at once is a hit.
          cache_.Put({leader.key, verdict, digest, 0, job.scoped, job.scope_path});
        }
        source_->IgnoreUntilModified(leader.event);
        counters_.ignore_marks++;
        if (job.user_writable) {
          // Allowed in the BPF layer first: the kernel maps the file's code after we answer.
          gate_->Allow(leader.key.dev, leader.key.inode);
          kept = guard_->Keep(fd, leader.key.dev, leader.key.inode);
          if (!kept) {
            // Written just now: forget the allow again, and do not give it.
            OnWriteOpen(fd, leader.key.dev, leader.key.inode);
            counters_.written_answers++;
            why = reason::kWritten;
            if (mode_ == ClientMode::kLockdown) {
              verdict = Verdict{Decision::kBlockUnknown, std::nullopt};
              allow = false;
            }
          }
        } else {
          // Only root can write it; a write by root between our read and the mark would
          // otherwise hide behind the mark.
          struct stat after;
          if (fstat(fd, &after) != 0 || uint64_t(after.st_size) != leader.key.size ||
              Nanos(after.st_mtim) != leader.key.mtime_ns ||
              Nanos(after.st_ctim) != leader.key.ctime_ns) {
            Invalidate(FlushReason::kRootWrite);
          }
        }
      } else if (!allow) {
        const uint64_t expires = MonotonicNs() + uint64_t(options_.deny_cache_ms) * 1000000ull;
        cache_.Put({leader.key, verdict, digest, expires, job.scoped, job.scope_path});
      }
      for (auto& pending : group) {
        pending->built_by = built_by;
        Answer(*pending, verdict.decision, verdict.rule, AnsweredBy::kPolicy, why);
      }
    }
  }
  if (job.user_writable && job.guard == WriteGuard::Begin::kGuarded && !kept) guard_->Release(fd);
  leader.fd_kept = kept;
  const std::string hex = hashed ? ToHex(digest) : std::string();
  for (auto& pending : group) Finish(*pending, hex, job.hash.error);
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
  m.cache_flushes = cache_.flushes();
  m.cache_flushes_by_reason = cache_.flushes_by_reason();
  m.busy_answers = counters_.busy_answers;
  m.too_large_answers = counters_.too_large_answers;
  m.writer_open_answers = counters_.writer_open_answers;
  m.written_answers = counters_.written_answers;
  m.write_invalidations = counters_.write_invalidations;
  m.guard_unsupported = counters_.guard_unsupported;
  m.route_blocks = counters_.route_blocks;
  m.route_reports = counters_.route_reports;
  m.pending_answers = counters_.pending_answers;
  m.work_queue_depth = pool_.queued();
  m.jobs_active = pool_.active();
  m.guarded_files = guard_->kept();
  for (size_t i = 0; i < kLatencyBucketCount; ++i) m.latency_buckets[i] = counters_.latency[i];
  return m;
}

}  // namespace gatehouse
