// Decides every exec in native code: cache, hash, rule lookup, answer, and only then tell
// JavaScript. A watchdog answers whatever is still pending at the deadline.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "build_tracker.h"
#include "decision_cache.h"
#include "event_source.h"
#include "exec_gate.h"
#include "file_hash.h"
#include "hash_pool.h"
#include "md5.h"
#include "policy.h"
#include "transitive_table.h"
#include "watchdog.h"
#include "write_guard.h"

namespace gatehouse {

enum class AnsweredBy : uint8_t { kPolicy, kCache, kWatchdog, kQueueFull, kError };
const char* AnsweredByName(AnsweredBy by);

// The exec monitor's settings and the one place their defaults are written.
struct AuthorizerOptions {
  ClientMode mode = ClientMode::kMonitor;
  // In LOCKDOWN, block what is not decided by the deadline (unlike Santa's default: a decision a
  // local user can stall must not become an allow).
  bool fail_closed = true;
  uint32_t deadline_ms = 5000;
  uint32_t workers = 2;
  uint32_t deny_cache_ms = 1500;
  size_t queue_capacity = 4096;
  size_t cache_capacity = 65536;
  // Files being hashed at once for one user; past it that user's next unknown file gets the fail
  // mode at once, so nobody can queue work without bound.
  size_t per_user_jobs = 64;
  // Larger files are not read: decided by path scopes alone (LOCKDOWN: blocked), at once.
  uint64_t max_hash_bytes = 1ull << 30;
  // Files the write guard may keep watching at once (each holds a descriptor).
  uint32_t guarded_files = 4096;
  // Decisions waiting for JavaScript before new ones are counted as dropped.
  uint32_t notify_queue_size = 4096;
  // Transitive allows kept at once; the one used longest ago makes room for a new one.
  uint32_t transitive_capacity = 10000;
};

// Why an answer is not the plain outcome of the rules (empty when it is).
namespace reason {
constexpr const char* kDeadline = "deadline";            // not decided in time: the fail mode
constexpr const char* kBusy = "busy";                    // this user has too many files hashing
constexpr const char* kQueueFull = "queue-full";         // everyone has: too many files hashing
constexpr const char* kTooLarge = "too-large";           // over the size that is hashed
constexpr const char* kWriterOpen = "open-for-writing";  // someone could change it as it ran
constexpr const char* kWritten = "written-while-deciding";
constexpr const char* kUnreadable = "unreadable";
constexpr const char* kStopped = "stopped";
}  // namespace reason

struct DecisionRecord {
  int32_t pid = 0;
  Credentials credentials;
  std::string path;
  std::string sha256;  // empty when the file could not be read
  uint64_t size = 0;
  uint64_t dev = 0;
  uint64_t inode = 0;
  Decision decision = Decision::kAllowUnknown;
  std::optional<Rule> rule;
  uint64_t latency_us = 0;
  AnsweredBy answered_by = AnsweredBy::kPolicy;
  std::string reason;  // see namespace reason
  std::string error;
  std::string built_by;  // ALLOW_TRANSITIVE: the compiler that wrote the file
};

// Upper bounds in microseconds; the last bucket holds everything slower.
constexpr uint64_t kLatencyBucketsUs[] = {10,    50,    100,    500,    1000,    2000,   5000,
                                          10000, 50000, 100000, 500000, 1000000, 5000000};
constexpr size_t kLatencyBucketCount = sizeof(kLatencyBucketsUs) / sizeof(uint64_t) + 1;

struct MetricsSnapshot {
  uint64_t events, self_allowed, cache_hits, cache_misses, coalesced, files_hashed, bytes_hashed,
      deadline_answers, queue_full_answers, error_answers, allowed, blocked, notified,
      dropped_notifications, ignore_marks, cache_flushes, busy_answers, too_large_answers,
      writer_open_answers, written_answers, write_invalidations, guard_unsupported, route_blocks,
      route_reports;
  uint64_t work_queue_depth, pending_answers, jobs_active, guarded_files;
  uint64_t latency_buckets[kLatencyBucketCount];
  std::array<uint64_t, kFlushReasonCount> cache_flushes_by_reason;
};

struct RuleChange {
  Rule rule;
  bool remove = false;
};

class Authorizer : public EventSink {
 public:
  // Returns false when the notification could not be queued (it is then counted as dropped).
  using Notify = std::function<bool(DecisionRecord&&)>;

  Authorizer(std::unique_ptr<EventSource> source, std::unique_ptr<WriteGuard> guard,
             std::unique_ptr<ExecGate> gate, AuthorizerOptions options, Notify notify,
             std::unique_ptr<BuildTracker> tracker = nullptr);
  ~Authorizer() override;

  bool Start(std::string* error);
  void Stop();
  bool running() const { return running_; }

  void SetMode(ClientMode mode, bool fail_closed);
  void SetDeadline(uint32_t deadline_ms) { watchdog_.SetDeadline(deadline_ms); }
  void SetRules(std::vector<Rule> rules);
  void SetTable(RuleTable table);
  // Adds BINARY rules in bulk (a million at start-up without a JavaScript object each).
  void PutBinaryRules(const std::vector<std::pair<Digest, Policy>>& rules);
  void SetScopes(Scopes scopes);
  // Package trust: path → the MD5 its package installed (dpkg's md5sums). Empty or disabled: off.
  using PackageTable = std::unordered_map<std::string, Md5Digest>;
  void SetPackages(PackageTable packages, bool enabled);
  void ApplyRuleChanges(const std::vector<RuleChange>& changes);
  void FlushCaches();
  size_t RuleCount() const;

  // Transitive rules: tracks what compilers write while enabled (and the monitor runs); false
  // with the reason when this OS or build cannot.
  bool SetTransitive(bool enabled, std::string* error);
  bool transitive_enabled() const { return transitive_enabled_; }
  std::vector<TransitiveEntry> TransitiveRules() const { return transitive_.List(); }
  // Kept entries put back (at start-up): only those whose file still has the same content.
  size_t LoadTransitive(const std::vector<TransitiveEntry>& entries);
  // A clean sync: every transitive allow goes.
  size_t ClearTransitive();
  BuildTrackerCounters TrackerCounters() const;
  // Times Decide() for each digest exactly as a worker runs it (shared lock, table lookup): ns
  // each.
  std::vector<uint64_t> TimeLookups(const std::vector<Digest>& digests) const;

  MetricsSnapshot Metrics() const;
  EventSource& source() { return *source_; }
  // What the exec gate cannot refuse here, and why; empty when every route is gated.
  std::string GateGaps() const { return gate_->Gaps(); }

  void OnExecEvent(const ExecEvent& event) override;

 private:
  struct Pending {
    ExecEvent event;
    FileKey key{};
    std::mutex mutex;
    bool answered = false;
    bool fd_kept = false;  // the write guard holds the fd now
    Decision decision = Decision::kAllowUnknown;
    std::optional<Rule> rule;
    AnsweredBy answered_by = AnsweredBy::kPolicy;
    std::string reason;
    std::string built_by;
    uint64_t latency_ns = 0;
  };
  // One file being hashed, a slice at a time, for every exec of it that waits.
  struct Job {
    std::shared_ptr<Pending> leader;  // whose fd is read
    uint32_t uid = 0;
    bool started = false;
    bool user_writable = false;
    WriteGuard::Begin guard = WriteGuard::Begin::kUnsupported;
    std::string path;
    std::string scope_path;
    bool scoped = false;
    bool package_claimed = false;
    FileHash hash;
  };

  void Answer(Pending& pending, Decision decision, const std::optional<Rule>& rule, AnsweredBy by,
              const char* why = "");
  void Finish(Pending& pending, const std::string& sha256, const std::string& error);
  Decision FailDecision() const;
  void Invalidate(FlushReason reason);
  void StartJob(Job& job);
  void FinishJob(Job& job);
  void AnswerAtOnce(const std::shared_ptr<Pending>& pending, Decision decision, const char* why,
                    const std::string& error);
  void DecideTooLarge(const std::shared_ptr<Pending>& pending);
  void OnWriteOpen(int fd, uint64_t dev, uint64_t inode);
  void ReportRoute(RouteEvent&& event);
  bool StartTracker(std::string* error);
  // ALLOW_TRANSITIVE for this file and content, when enabled and a compiler built it.
  std::optional<TransitiveEntry> Built(const FileKey& key, const Digest& digest);
  // The path scopes may judge: empty when the process sees the file through a mount namespace
  // of its own, where any path can be made to appear.
  std::string ScopePath(const Pending& pending) const;

  std::unique_ptr<EventSource> source_;
  std::unique_ptr<WriteGuard> guard_;
  std::unique_ptr<ExecGate> gate_;
  AuthorizerOptions options_;
  Notify notify_;
  const int32_t self_pid_;
  uint64_t self_mount_ns_ = 0;
  std::atomic<bool> running_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<uint32_t> deadline_ms_;

  mutable std::shared_mutex policy_mutex_;
  RuleTable rules_;
  Scopes scopes_;
  PackageTable packages_;
  bool trust_packages_ = false;
  std::atomic<ClientMode> mode_;
  std::atomic<bool> fail_closed_;

  DecisionCache cache_;
  TransitiveTable transitive_;
  std::unique_ptr<BuildTracker> tracker_;
  std::atomic<bool> transitive_enabled_{false};
  std::mutex tracker_mutex_;

  // Guards in_flight_: every exec of a file being hashed waits on that one job.
  mutable std::mutex work_mutex_;
  std::unordered_map<
      FileKey, std::pair<std::shared_ptr<Job>, std::vector<std::shared_ptr<Pending>>>, FileKeyHash>
      in_flight_;
  Watchdog<Pending> watchdog_;
  HashPool<Job> pool_;

  struct Counters {
    std::atomic<uint64_t> events{0}, self_allowed{0}, cache_hits{0}, cache_misses{0}, coalesced{0},
        files_hashed{0}, bytes_hashed{0}, deadline_answers{0}, queue_full_answers{0},
        error_answers{0}, allowed{0}, blocked{0}, notified{0}, dropped_notifications{0},
        ignore_marks{0}, pending_answers{0}, busy_answers{0}, too_large_answers{0},
        writer_open_answers{0}, written_answers{0}, write_invalidations{0}, guard_unsupported{0},
        route_blocks{0}, route_reports{0};
    std::atomic<uint64_t> latency[kLatencyBucketCount]{};
  } counters_;
};

}  // namespace gatehouse
