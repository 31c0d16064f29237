// The one place where native values become JavaScript values.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cstddef>

#include <cerrno>
#include <cstring>
#include <memory>
#include <unordered_map>

#include <napi.h>

#include "core/authorizer.h"
#include "core/host.h"
#include "core/parts.h"
#include "core/sha256.h"
#include "fake/fake_source.h"

namespace gatehouse {
namespace {

Napi::Value Throw(Napi::Env env, const std::string& message) {
  Napi::Error::New(env, message).ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value ThrowType(Napi::Env env, const std::string& message) {
  Napi::TypeError::New(env, message).ThrowAsJavaScriptException();
  return env.Undefined();
}

std::optional<ClientMode> ParseMode(const Napi::Value& value) {
  if (!value.IsString()) return std::nullopt;
  const std::string mode = value.As<Napi::String>().Utf8Value();
  if (mode == "MONITOR") return ClientMode::kMonitor;
  if (mode == "LOCKDOWN") return ClientMode::kLockdown;
  return std::nullopt;
}

uint32_t OptionalUint(const Napi::Object& object, const char* key, uint32_t fallback) {
  Napi::Value value = object.Get(key);
  return value.IsNumber() ? value.As<Napi::Number>().Uint32Value() : fallback;
}

// One rule from JavaScript: { type, identifier, policy }. policy "REMOVE" when removals are
// allowed.
bool ParseRule(const Napi::Value& value, bool allow_remove, RuleChange* change,
               std::string* error) {
  if (!value.IsObject()) {
    *error = "a rule must be an object { type, identifier, policy }";
    return false;
  }
  Napi::Object object = value.As<Napi::Object>();
  Napi::Value type = object.Get("type"), identifier = object.Get("identifier"),
              policy = object.Get("policy");
  if (!type.IsString() || !identifier.IsString() || !policy.IsString()) {
    *error = "a rule needs string fields type, identifier and policy";
    return false;
  }
  auto rule_type = ParseRuleType(type.As<Napi::String>().Utf8Value());
  if (!rule_type) {
    *error = "rule type must be BINARY, CERTIFICATE, TEAMID, SIGNINGID or CDHASH, got \"" +
             type.As<Napi::String>().Utf8Value() + "\"";
    return false;
  }
  const std::string policy_name = policy.As<Napi::String>().Utf8Value();
  change->remove = allow_remove && policy_name == "REMOVE";
  if (!change->remove) {
    auto parsed = ParsePolicy(policy_name);
    if (!parsed) {
      *error = std::string("rule policy must be ALLOWLIST, ALLOWLIST_COMPILER, BLOCKLIST or ") +
               "SILENT_BLOCKLIST" + (allow_remove ? " (or REMOVE)" : "") + ", got \"" +
               policy_name + "\"";
      return false;
    }
    change->rule.policy = *parsed;
  }
  change->rule.type = *rule_type;
  return RuleTable::Canonicalize(*rule_type, identifier.As<Napi::String>().Utf8Value(),
                                 &change->rule.identifier, error);
}

// Reads an optional array of path prefixes; false with a reason when it is malformed.
bool ParsePrefixes(const Napi::Value& value, const char* what, std::vector<std::string>* out,
                   std::string* error) {
  if (value.IsUndefined() || value.IsNull()) return true;
  if (!value.IsArray()) {
    *error = std::string(what) + " must be an array of absolute paths";
    return false;
  }
  Napi::Array array = value.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value item = array.Get(i);
    if (!item.IsString() || item.As<Napi::String>().Utf8Value().rfind('/', 0) != 0) {
      *error = std::string(what) + " must be an array of absolute paths";
      return false;
    }
    out->push_back(Scopes::Normalize(item.As<Napi::String>().Utf8Value()));
  }
  return true;
}

bool ParseScopes(const Napi::Value& value, Scopes* scopes, std::string* error) {
  if (value.IsUndefined() || value.IsNull()) return true;
  if (!value.IsObject()) {
    *error = "scopes must be an object { allowed, blocked }";
    return false;
  }
  Napi::Object object = value.As<Napi::Object>();
  return ParsePrefixes(object.Get("allowed"), "scopes.allowed", &scopes->allowed, error) &&
         ParsePrefixes(object.Get("blocked"), "scopes.blocked", &scopes->blocked, error);
}

Napi::Object RuleToJs(Napi::Env env, const Rule& rule) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("type", RuleTypeName(rule.type));
  object.Set("identifier", rule.identifier);
  object.Set("policy", PolicyName(rule.policy));
  return object;
}

struct FakeResponse {
  uint64_t token;
  bool allow;
};

class Monitor;
void DeliverDecision(Napi::Env env, Napi::Function callback, Monitor* self, DecisionRecord* record);
void DeliverResponse(Napi::Env env, Napi::Function, Monitor* self, FakeResponse* response);
using DecisionChannel = Napi::TypedThreadSafeFunction<Monitor, DecisionRecord, DeliverDecision>;
using ResponseChannel = Napi::TypedThreadSafeFunction<Monitor, FakeResponse, DeliverResponse>;

class Monitor : public Napi::ObjectWrap<Monitor> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "Monitor",
        {InstanceMethod<&Monitor::Start>("start"), InstanceMethod<&Monitor::Stop>("stop"),
         InstanceMethod<&Monitor::SetMode>("setMode"),
         InstanceMethod<&Monitor::SetDeadline>("setDeadline"),
         InstanceMethod<&Monitor::SetRules>("setRules"),
         InstanceMethod<&Monitor::SetScopes>("setScopes"),
         InstanceMethod<&Monitor::AddBinaryRules>("addBinaryRules"),
         InstanceMethod<&Monitor::SetPackages>("setPackages"),
         InstanceMethod<&Monitor::ApplyRuleChanges>("applyRuleChanges"),
         InstanceMethod<&Monitor::FlushCache>("flushCache"),
         InstanceMethod<&Monitor::Metrics>("metrics"), InstanceMethod<&Monitor::Watched>("watched"),
         InstanceMethod<&Monitor::Inject>("inject"),
         InstanceMethod<&Monitor::TimeLookups>("timeLookups"),
         InstanceMethod<&Monitor::SetTransitive>("setTransitive"),
         InstanceMethod<&Monitor::TransitiveRules>("transitiveRules"),
         InstanceMethod<&Monitor::LoadTransitiveRules>("loadTransitiveRules"),
         InstanceMethod<&Monitor::ClearTransitiveRules>("clearTransitiveRules")});
  }

  // new Monitor(options, onDecision)
  explicit Monitor(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Monitor>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction()) {
      ThrowType(env, "new Monitor(options, onDecision): options object and callback required");
      return;
    }
    Napi::Object options = info[0].As<Napi::Object>();
    Napi::Value backend = options.Get("backend");
    backend_ = backend.IsString() ? backend.As<Napi::String>().Utf8Value() : "fanotify";
    if (backend_ != "fanotify" && backend_ != "fake") {
      ThrowType(env, "backend must be \"fanotify\" or \"fake\", got \"" + backend_ + "\"");
      return;
    }
    auto mode = ParseMode(options.Get("mode"));
    if (!mode) {
      ThrowType(env, "mode must be \"MONITOR\" or \"LOCKDOWN\"");
      return;
    }
    options_.mode = *mode;
    // Every default lives in AuthorizerOptions; JavaScript passes only what it sets.
    const AuthorizerOptions defaults;
    const Napi::Value fail_closed = options.Get("failClosed");
    options_.fail_closed =
        fail_closed.IsBoolean() ? fail_closed.ToBoolean().Value() : defaults.fail_closed;
    options_.deadline_ms = OptionalUint(options, "deadlineMs", defaults.deadline_ms);
    options_.workers = OptionalUint(options, "workers", defaults.workers);
    options_.deny_cache_ms = OptionalUint(options, "denyCacheMs", defaults.deny_cache_ms);
    options_.queue_capacity = OptionalUint(options, "queueCapacity", defaults.queue_capacity);
    options_.cache_capacity = OptionalUint(options, "cacheCapacity", defaults.cache_capacity);
    options_.per_user_jobs = OptionalUint(options, "perUserJobs", defaults.per_user_jobs);
    options_.max_hash_bytes =
        uint64_t(OptionalUint(options, "maxHashMiB", defaults.max_hash_bytes >> 20)) << 20;
    guarded_capacity_ = OptionalUint(options, "guardedFiles", defaults.guarded_files);
    notify_queue_size_ = OptionalUint(options, "notifyQueueSize", defaults.notify_queue_size);
    options_.transitive_capacity =
        OptionalUint(options, "transitiveCapacity", defaults.transitive_capacity);
    Napi::Value paths = options.Get("watchPaths");
    if (paths.IsArray()) {
      Napi::Array array = paths.As<Napi::Array>();
      for (uint32_t i = 0; i < array.Length(); ++i) {
        Napi::Value path = array.Get(i);
        if (!path.IsString()) {
          ThrowType(env, "watchPaths must be an array of strings");
          return;
        }
        watch_paths_.push_back(path.As<Napi::String>().Utf8Value());
      }
    }
    std::string scope_error;
    if (!ParseScopes(options.Get("scopes"), &scopes_, &scope_error)) {
      ThrowType(env, scope_error);
      return;
    }
    on_decision_ = Napi::Persistent(info[1].As<Napi::Function>());
  }

  ~Monitor() override { Shutdown(); }

 private:
  friend void DeliverDecision(Napi::Env, Napi::Function, Monitor*, DecisionRecord*);
  friend void DeliverResponse(Napi::Env, Napi::Function, Monitor*, FakeResponse*);

  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (authorizer_ && authorizer_->running()) return env.Undefined();
    PartsOptions parts_options{watch_paths_, guarded_capacity_};
    MonitorParts parts;
    if (backend_ == "fake") {
      responses_ =
          ResponseChannel::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}),
                               "gatehouse-fake-responses", 0, 1, this);
      ResponseChannel channel = responses_;
      auto fake = std::make_unique<FakeSource>([channel](uint64_t token, bool allow) mutable {
        channel.NonBlockingCall(new FakeResponse{token, allow});
      });
      fake_ = fake.get();
      parts.source = std::move(fake);
      parts.guard = MakeWriteGuard(parts_options);
      // Scripted execs have no kernel routes around them to gate.
      parts.gate = std::make_unique<NoExecGate>("the fake exec source has no kernel to gate");
    } else {
      std::string error;
      if (!MakeSystemParts(parts_options, &parts, &error))
        return Throw(env, "exec monitor: " + error);
    }
    decisions_ = DecisionChannel::New(env, on_decision_.Value(), "gatehouse-decisions",
                                      notify_queue_size_, 1, this);
    DecisionChannel channel = decisions_;
    std::atomic<uint64_t>* queued = &queued_;
    authorizer_ = std::make_unique<Authorizer>(
        std::move(parts.source), std::move(parts.guard), std::move(parts.gate), options_,
        [channel, queued](DecisionRecord&& record) mutable {
          auto* copy = new DecisionRecord(std::move(record));
          (*queued)++;
          if (channel.NonBlockingCall(copy) != napi_ok) {
            (*queued)--;
            delete copy;
            return false;
          }
          return true;
        },
        std::move(parts.tracker));
    Ref();  // a running monitor keeps its JavaScript object alive until stop()
    std::string error;
    authorizer_->LoadTransitive(pending_transitive_);
    pending_transitive_.clear();
    if (transitive_ && !authorizer_->SetTransitive(true, &error)) {
      Shutdown();
      return Throw(env, "exec monitor: " + error);
    }
    if (!authorizer_->Start(&error)) {
      Shutdown();
      return Throw(env, "exec monitor: " + error);
    }
    authorizer_->SetTable(std::move(pending_rules_));
    pending_rules_ = RuleTable();
    authorizer_->SetPackages(std::move(pending_packages_), pending_packages_enabled_);
    pending_packages_ = Authorizer::PackageTable();
    authorizer_->SetScopes(scopes_);
    return env.Undefined();
  }

  void Shutdown() {
    if (!authorizer_) return;
    authorizer_->Stop();
    fake_ = nullptr;
    authorizer_.reset();
    decisions_.Release();
    if (responses_) responses_.Release();
    responses_ = ResponseChannel();
    Unref();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    Shutdown();
    return info.Env().Undefined();
  }

  Napi::Value SetMode(const Napi::CallbackInfo& info) {
    auto mode = ParseMode(info[0]);
    if (!mode) return ThrowType(info.Env(), "setMode: mode must be \"MONITOR\" or \"LOCKDOWN\"");
    options_.mode = *mode;
    options_.fail_closed =
        info[1].IsBoolean() ? info[1].ToBoolean().Value() : AuthorizerOptions().fail_closed;
    if (authorizer_) authorizer_->SetMode(options_.mode, options_.fail_closed);
    return info.Env().Undefined();
  }

  Napi::Value SetDeadline(const Napi::CallbackInfo& info) {
    if (!info[0].IsNumber()) return ThrowType(info.Env(), "setDeadline: milliseconds required");
    options_.deadline_ms = info[0].As<Napi::Number>().Uint32Value();
    if (authorizer_) authorizer_->SetDeadline(options_.deadline_ms);
    return info.Env().Undefined();
  }

  bool ParseRules(Napi::Env env, const Napi::Value& value, bool allow_remove,
                  std::vector<RuleChange>* out) {
    if (!value.IsArray()) {
      ThrowType(env, "rules must be an array");
      return false;
    }
    Napi::Array array = value.As<Napi::Array>();
    out->resize(array.Length());
    for (uint32_t i = 0; i < array.Length(); ++i) {
      std::string error;
      if (!ParseRule(array.Get(i), allow_remove, &(*out)[i], &error)) {
        ThrowType(env, "rule " + std::to_string(i) + ": " + error);
        return false;
      }
    }
    return true;
  }

  Napi::Value SetRules(const Napi::CallbackInfo& info) {
    std::vector<RuleChange> changes;
    if (!ParseRules(info.Env(), info[0], false, &changes)) return info.Env().Undefined();
    std::vector<Rule> rules;
    rules.reserve(changes.size());
    for (auto& change : changes) rules.push_back(std::move(change.rule));
    if (authorizer_) {
      authorizer_->SetRules(std::move(rules));
    } else {
      pending_rules_ = RuleTable();
      for (const Rule& rule : rules) pending_rules_.Put(rule);
    }
    return info.Env().Undefined();
  }

  // addBinaryRules(hex, policies): n SHA-256s as one string of 64·n hex digits, and n policy
  // bytes (0 ALLOWLIST, 1 ALLOWLIST_COMPILER, 2 BLOCKLIST, 3 SILENT_BLOCKLIST). Before start()
  // they join the table the monitor starts with; after, they are added in one step.
  Napi::Value AddBinaryRules(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsTypedArray() || !info[1].IsTypedArray()) {
      return ThrowType(env, "addBinaryRules(digests, policies): two Uint8Arrays are required");
    }
    Napi::Uint8Array digests = info[0].As<Napi::Uint8Array>();
    Napi::Uint8Array policies = info[1].As<Napi::Uint8Array>();
    if (digests.ElementLength() != policies.ElementLength() * 32) {
      return ThrowType(env, "addBinaryRules: need 32 digest bytes per policy byte");
    }
    std::vector<std::pair<Digest, Policy>> rules(policies.ElementLength());
    for (size_t i = 0; i < rules.size(); ++i) {
      if (policies[i] > 3) {
        return ThrowType(env, "addBinaryRules: rule " + std::to_string(i) + " has no such policy");
      }
      std::memcpy(rules[i].first.data(), digests.Data() + i * 32, 32);
      rules[i].second = static_cast<Policy>(policies[i]);
    }
    if (authorizer_) {
      authorizer_->PutBinaryRules(rules);
    } else {
      pending_rules_.ReserveMoreBinary(rules.size());
      for (const auto& [digest, policy] : rules) pending_rules_.PutBinary(digest, policy);
    }
    return env.Undefined();
  }

  // setPackages(enabled, paths, md5s): package trust. paths: absolute paths joined by "\0";
  // md5s: 16 bytes per path, what the package installed there.
  Napi::Value SetPackages(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsBoolean() || !info[1].IsString() || !info[2].IsTypedArray()) {
      return ThrowType(
          env,
          "setPackages(enabled, paths, md5s): a boolean, a string and a Uint8Array are required");
    }
    const std::string joined = info[1].As<Napi::String>().Utf8Value();
    Napi::Uint8Array md5s = info[2].As<Napi::Uint8Array>();
    Authorizer::PackageTable table;
    size_t start = 0, index = 0;
    while (!joined.empty() && start <= joined.size()) {
      size_t end = joined.find('\0', start);
      if (end == std::string::npos) end = joined.size();
      if ((index + 1) * 16 > md5s.ElementLength())
        return ThrowType(env, "setPackages: fewer digests than paths");
      Md5Digest digest;
      for (size_t i = 0; i < 16; ++i) digest[i] = md5s[index * 16 + i];
      table[joined.substr(start, end - start)] = digest;
      index++;
      start = end + 1;
    }
    if (index * 16 != md5s.ElementLength())
      return ThrowType(env, "setPackages: more digests than paths");
    pending_packages_enabled_ = info[0].As<Napi::Boolean>().Value();
    if (authorizer_) {
      authorizer_->SetPackages(std::move(table), pending_packages_enabled_);
    } else {
      pending_packages_ = std::move(table);
    }
    return env.Undefined();
  }

  Napi::Value SetScopes(const Napi::CallbackInfo& info) {
    Scopes scopes;
    std::string error;
    if (!ParseScopes(info[0], &scopes, &error)) return ThrowType(info.Env(), "setScopes: " + error);
    scopes_ = scopes;
    if (authorizer_) authorizer_->SetScopes(std::move(scopes));
    return info.Env().Undefined();
  }

  Napi::Value ApplyRuleChanges(const Napi::CallbackInfo& info) {
    std::vector<RuleChange> changes;
    if (!ParseRules(info.Env(), info[0], true, &changes)) return info.Env().Undefined();
    if (!authorizer_) return Throw(info.Env(), "applyRuleChanges: the monitor is not running");
    authorizer_->ApplyRuleChanges(changes);
    return info.Env().Undefined();
  }

  Napi::Value FlushCache(const Napi::CallbackInfo& info) {
    if (authorizer_) authorizer_->FlushCaches();
    return info.Env().Undefined();
  }

  Napi::Value Metrics(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object object = Napi::Object::New(env);
    if (!authorizer_) return object;
    const MetricsSnapshot m = authorizer_->Metrics();
    const BuildTrackerCounters tracker = authorizer_->TrackerCounters();
    const std::pair<const char*, uint64_t> fields[] = {
        {"events", m.events},
        {"selfAllowed", m.self_allowed},
        {"cacheHits", m.cache_hits},
        {"cacheMisses", m.cache_misses},
        {"coalesced", m.coalesced},
        {"filesHashed", m.files_hashed},
        {"bytesHashed", m.bytes_hashed},
        {"deadlineAnswers", m.deadline_answers},
        {"queueFullAnswers", m.queue_full_answers},
        {"errorAnswers", m.error_answers},
        {"allowed", m.allowed},
        {"blocked", m.blocked},
        {"notified", m.notified},
        {"droppedNotifications", m.dropped_notifications},
        {"ignoreMarks", m.ignore_marks},
        {"cacheFlushes", m.cache_flushes},
        {"pendingAnswers", m.pending_answers},
        {"busyAnswers", m.busy_answers},
        {"tooLargeAnswers", m.too_large_answers},
        {"writerOpenAnswers", m.writer_open_answers},
        {"writtenAnswers", m.written_answers},
        {"writeInvalidations", m.write_invalidations},
        {"guardUnsupported", m.guard_unsupported},
        {"jobsActive", m.jobs_active},
        {"guardedFiles", m.guarded_files},
        {"routeBlocks", m.route_blocks},
        {"routeReports", m.route_reports},
        {"workQueueDepth", m.work_queue_depth},
        {"notifyQueueDepth", queued_.load()},
        {"rules", authorizer_->RuleCount()},
        {"kernelSkips", fake_ ? fake_->skipped_by_ignore_marks() : 0},
        {"transitiveRules", authorizer_->TransitiveRules().size()},
        {"trackedWrites", tracker.writes},
        {"compilerWrites", tracker.compiler_writes},
        {"transitiveMinted", tracker.minted},
        {"transitiveRefused", tracker.refused},
        {"transitiveForgotten", tracker.forgotten},
        {"compilersTainted", tracker.tainted},
        {"compilersSeen", tracker.compilers_seen},
        {"compilersMissed", tracker.missed},
    };
    for (const auto& [key, value] : fields) object.Set(key, double(value));
    Napi::Array histogram = Napi::Array::New(env, kLatencyBucketCount);
    for (size_t i = 0; i < kLatencyBucketCount; ++i) {
      Napi::Object bucket = Napi::Object::New(env);
      bucket.Set("leUs", i + 1 < kLatencyBucketCount
                             ? Napi::Value(Napi::Number::New(env, double(kLatencyBucketsUs[i])))
                             : env.Null());
      bucket.Set("count", double(m.latency_buckets[i]));
      histogram.Set(uint32_t(i), bucket);
    }
    object.Set("latencyHistogram", histogram);
    object.Set("gateGaps", authorizer_->GateGaps());
    Napi::Object flushes = Napi::Object::New(env);
    for (size_t i = 0; i < kFlushReasonCount; ++i) {
      flushes.Set(FlushReasonName(FlushReason(i)), double(m.cache_flushes_by_reason[i]));
    }
    object.Set("cacheFlushReasons", flushes);
    return object;
  }

  Napi::Value Watched(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array array = Napi::Array::New(env);
    if (!authorizer_) return array;
    uint32_t i = 0;
    for (const WatchedFilesystem& watched : authorizer_->source().Watched()) {
      Napi::Object object = Napi::Object::New(env);
      object.Set("path", watched.path);
      object.Set("fstype", watched.fstype);
      object.Set("device", watched.device);
      object.Set("mark", watched.mark);
      array.Set(i++, object);
    }
    return array;
  }

  // timeLookups(sha256s) → Float64Array of nanoseconds per rule-table lookup (for bench:rules).
  Napi::Value TimeLookups(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!authorizer_) return Throw(env, "timeLookups: the monitor is not running");
    if (!info[0].IsArray()) return ThrowType(env, "timeLookups(sha256s) needs an array");
    Napi::Array array = info[0].As<Napi::Array>();
    std::vector<Digest> digests(array.Length());
    for (uint32_t i = 0; i < array.Length(); ++i) {
      Napi::Value value = array.Get(i);
      if (!value.IsString() || !FromHex(value.As<Napi::String>().Utf8Value(), &digests[i])) {
        return ThrowType(env, "timeLookups: entry " + std::to_string(i) + " is not a SHA-256");
      }
    }
    const std::vector<uint64_t> times = authorizer_->TimeLookups(digests);
    Napi::Float64Array out = Napi::Float64Array::New(env, times.size());
    for (size_t i = 0; i < times.size(); ++i) out[i] = double(times[i]);
    return out;
  }

  // inject(path, { pid, ppid?, uid?, gid? }) → Promise<boolean allowed>. Fake backend only.
  Napi::Value Inject(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!fake_)
      return Throw(env,
                   "inject: only a running monitor with the fake backend takes scripted execs");
    if (!info[0].IsString() || !info[1].IsObject()) {
      return ThrowType(env, "inject(path, { pid, ppid, uid, gid }) required");
    }
    Napi::Object process = info[1].As<Napi::Object>();
    const int32_t pid = process.Get("pid").ToNumber().Int32Value();
    std::optional<Credentials> credentials;
    if (process.Get("uid").IsNumber()) {
      credentials = Credentials{process.Get("ppid").ToNumber().Int32Value(),
                                process.Get("uid").ToNumber().Uint32Value(),
                                process.Get("gid").ToNumber().Uint32Value()};
    }
    const uint64_t token = ++next_token_;
    auto deferred = Napi::Promise::Deferred::New(env);
    deferreds_.emplace(token, deferred);
    std::string error;
    if (!fake_->Inject(info[0].As<Napi::String>().Utf8Value(), pid, credentials, token, &error)) {
      deferreds_.erase(token);
      deferred.Reject(Napi::Error::New(env, "inject: " + error).Value());
    }
    return deferred.Promise();
  }

  // setTransitive(enabled): tracks what compilers write (see core/transitive_table.h).
  Napi::Value SetTransitive(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsBoolean()) return ThrowType(env, "setTransitive(enabled): a boolean required");
    transitive_ = info[0].As<Napi::Boolean>().Value();
    std::string error;
    if (authorizer_ && !authorizer_->SetTransitive(transitive_, &error)) {
      transitive_ = false;
      return Throw(env, "setTransitive: " + error);
    }
    return env.Undefined();
  }

  Napi::Value TransitiveRules(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const std::vector<TransitiveEntry> entries =
        authorizer_ ? authorizer_->TransitiveRules() : pending_transitive_;
    Napi::Array array = Napi::Array::New(env, entries.size());
    for (size_t i = 0; i < entries.size(); ++i) {
      const TransitiveEntry& entry = entries[i];
      Napi::Object object = Napi::Object::New(env);
      object.Set("dev", double(entry.dev));
      object.Set("inode", double(entry.inode));
      object.Set("sha256", ToHex(entry.sha256));
      object.Set("compiler", entry.compiler);
      object.Set("compilerSha256", ToHex(entry.compiler_sha256));
      object.Set("createdMs", double(entry.created_ms));
      object.Set("lastUsedMs", double(entry.last_used_ms));
      array.Set(uint32_t(i), object);
    }
    return array;
  }

  // loadTransitiveRules(rules): what transitiveRules() gave before, as the agent stored it.
  Napi::Value LoadTransitiveRules(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsArray()) return ThrowType(env, "loadTransitiveRules(rules): an array required");
    Napi::Array array = info[0].As<Napi::Array>();
    std::vector<TransitiveEntry> entries;
    for (uint32_t i = 0; i < array.Length(); ++i) {
      Napi::Value item = array.Get(i);
      TransitiveEntry entry;
      if (!item.IsObject() || !ParseTransitive(item.As<Napi::Object>(), &entry)) {
        return ThrowType(env, "loadTransitiveRules: entry " + std::to_string(i) +
                                  " needs dev, inode, sha256, compiler, compilerSha256, "
                                  "createdMs and lastUsedMs");
      }
      entries.push_back(std::move(entry));
    }
    if (authorizer_) {
      authorizer_->LoadTransitive(entries);
    } else {
      pending_transitive_ = std::move(entries);
    }
    return env.Undefined();
  }

  static bool ParseTransitive(const Napi::Object& object, TransitiveEntry* entry) {
    for (const char* key : {"dev", "inode", "createdMs", "lastUsedMs"}) {
      if (!object.Get(key).IsNumber() || object.Get(key).As<Napi::Number>().DoubleValue() < 0)
        return false;
    }
    if (!object.Get("sha256").IsString() || !object.Get("compilerSha256").IsString() ||
        !object.Get("compiler").IsString())
      return false;
    entry->dev = uint64_t(object.Get("dev").As<Napi::Number>().DoubleValue());
    entry->inode = uint64_t(object.Get("inode").As<Napi::Number>().DoubleValue());
    entry->created_ms = uint64_t(object.Get("createdMs").As<Napi::Number>().DoubleValue());
    entry->last_used_ms = uint64_t(object.Get("lastUsedMs").As<Napi::Number>().DoubleValue());
    entry->compiler = object.Get("compiler").As<Napi::String>().Utf8Value();
    return FromHex(object.Get("sha256").As<Napi::String>().Utf8Value(), &entry->sha256) &&
           FromHex(object.Get("compilerSha256").As<Napi::String>().Utf8Value(),
                   &entry->compiler_sha256);
  }

  // clearTransitiveRules() → how many there were (a clean sync).
  Napi::Value ClearTransitiveRules(const Napi::CallbackInfo& info) {
    size_t cleared = pending_transitive_.size();
    pending_transitive_.clear();
    if (authorizer_) cleared += authorizer_->ClearTransitive();
    return Napi::Number::New(info.Env(), double(cleared));
  }

  std::string backend_;
  AuthorizerOptions options_;
  std::vector<std::string> watch_paths_;
  uint32_t notify_queue_size_ = 0;
  uint32_t guarded_capacity_ = 0;
  Napi::FunctionReference on_decision_;
  RuleTable pending_rules_;  // filled before start()
  Authorizer::PackageTable pending_packages_;
  bool pending_packages_enabled_ = false;
  bool transitive_ = false;
  std::vector<TransitiveEntry> pending_transitive_;  // loaded before start()
  Scopes scopes_;
  std::unique_ptr<Authorizer> authorizer_;
  FakeSource* fake_ = nullptr;
  DecisionChannel decisions_;
  ResponseChannel responses_;
  std::atomic<uint64_t> queued_{0};
  std::unordered_map<uint64_t, Napi::Promise::Deferred> deferreds_;
  uint64_t next_token_ = 0;
};

void DeliverDecision(Napi::Env env, Napi::Function callback, Monitor* self,
                     DecisionRecord* record) {
  std::unique_ptr<DecisionRecord> owned(record);
  self->queued_--;
  if (env == nullptr) return;
  Napi::Object object = Napi::Object::New(env);
  object.Set("pid", record->pid);
  object.Set("ppid", record->credentials.ppid);
  object.Set("uid", record->credentials.uid);
  object.Set("gid", record->credentials.gid);
  object.Set("path", record->path);
  object.Set("sha256", record->sha256);
  object.Set("size", double(record->size));
  object.Set("dev", double(record->dev));
  object.Set("inode", double(record->inode));
  object.Set("decision", DecisionName(record->decision));
  object.Set("rule", record->rule ? Napi::Value(RuleToJs(env, *record->rule)) : env.Null());
  object.Set("latencyUs", double(record->latency_us));
  object.Set("answeredBy", AnsweredByName(record->answered_by));
  if (!record->reason.empty()) object.Set("reason", record->reason);
  if (!record->error.empty()) object.Set("error", record->error);
  if (!record->built_by.empty()) object.Set("builtBy", record->built_by);
  callback.Call({object});
}

void DeliverResponse(Napi::Env env, Napi::Function, Monitor* self, FakeResponse* response) {
  std::unique_ptr<FakeResponse> owned(response);
  if (env == nullptr) return;
  auto it = self->deferreds_.find(response->token);
  if (it == self->deferreds_.end()) return;
  it->second.Resolve(Napi::Boolean::New(env, response->allow));
  self->deferreds_.erase(it);
}

Napi::Value PeerCredentials(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber())
    return ThrowType(env, "peerCredentials(fd): a socket descriptor is required");
  const int fd = info[0].As<Napi::Number>().Int32Value();
  PeerIdentity peer;
  std::string error;
  if (!ReadPeerCredentials(fd, &peer, &error)) return Throw(env, "peerCredentials: " + error);
  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", peer.pid ? Napi::Value(Napi::Number::New(env, *peer.pid)) : env.Null());
  out.Set("uid", peer.uid);
  out.Set("gid", peer.gid);
  return out;
}

class HashWorker : public Napi::AsyncWorker {
 public:
  HashWorker(Napi::Env env, std::string path)
      : Napi::AsyncWorker(env),
        path_(std::move(path)),
        deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    const int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      SetError("sha256File: cannot open " + path_ + ": " + strerror(errno));
      return;
    }
    std::vector<uint8_t> buffer(1 << 20);
    Sha256 hasher;
    Md5 md5;
    for (;;) {
      ssize_t n = read(fd, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        SetError("sha256File: cannot read " + path_ + ": " + strerror(errno));
        close(fd);
        return;
      }
      if (n == 0) break;
      hasher.Update(buffer.data(), size_t(n));
      md5.Update(buffer.data(), size_t(n));
      size_ += uint64_t(n);
    }
    close(fd);
    digest_ = ToHex(hasher.Finish());
    const Md5Digest md5_digest = md5.Finish();
    static const char kDigits[] = "0123456789abcdef";
    for (uint8_t byte : md5_digest) {
      md5_.push_back(kDigits[byte >> 4]);
      md5_.push_back(kDigits[byte & 15]);
    }
  }
  void OnOK() override {
    Napi::Object result = Napi::Object::New(Env());
    result.Set("sha256", digest_);
    result.Set("md5", md5_);
    result.Set("size", double(size_));
    deferred_.Resolve(result);
  }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  std::string path_;
  Napi::Promise::Deferred deferred_;
  std::string digest_;
  std::string md5_;
  uint64_t size_ = 0;
};

Napi::Value Sha256File(const Napi::CallbackInfo& info) {
  if (!info[0].IsString()) return ThrowType(info.Env(), "sha256File(path): a path is required");
  auto* worker = new HashWorker(info.Env(), info[0].As<Napi::String>().Utf8Value());
  worker->Queue();
  return worker->Promise();
}

// evaluate(identity, rules, mode, scopes?) → { decision, rule }: the exec path's decision for a
// file with this identity and path, so that explanations can be checked against it.
Napi::Value Evaluate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject() || !info[1].IsArray()) {
    return ThrowType(env, "evaluate(identity, rules, mode, scopes?) required");
  }
  Napi::Object input = info[0].As<Napi::Object>();
  Identity identity;
  auto digest = [&](const char* key, std::optional<Digest>* out, bool cdhash) -> bool {
    Napi::Value value = input.Get(key);
    if (!value.IsString()) return true;
    std::string hex = value.As<Napi::String>().Utf8Value();
    if (cdhash) hex += std::string(24, '0');
    Digest parsed;
    if (!FromHex(hex, &parsed)) return false;
    *out = parsed;
    return true;
  };
  if (!digest("sha256", &identity.sha256, false) || !digest("cdhash", &identity.cdhash, true) ||
      !digest("certificateSha256", &identity.certificate_sha256, false)) {
    return ThrowType(env, "evaluate: sha256 and certificateSha256 need 64 hex digits, cdhash 40");
  }
  if (input.Get("signingId").IsString())
    identity.signing_id = input.Get("signingId").As<Napi::String>().Utf8Value();
  if (input.Get("teamId").IsString())
    identity.team_id = input.Get("teamId").As<Napi::String>().Utf8Value();
  const std::string path =
      input.Get("path").IsString() ? input.Get("path").As<Napi::String>().Utf8Value() : "";
  auto mode = ParseMode(info[2]);
  if (!mode) return ThrowType(env, "evaluate: mode must be \"MONITOR\" or \"LOCKDOWN\"");
  Scopes scopes;
  std::string error;
  if (!ParseScopes(info[3], &scopes, &error)) return ThrowType(env, "evaluate: " + error);
  RuleTable table;
  Napi::Array rules = info[1].As<Napi::Array>();
  for (uint32_t i = 0; i < rules.Length(); ++i) {
    RuleChange change;
    if (!ParseRule(rules.Get(i), false, &change, &error)) {
      return ThrowType(env, "evaluate: rule " + std::to_string(i) + ": " + error);
    }
    table.Put(change.rule);
  }
  const Verdict verdict =
      Decide(table, identity, *mode, scopes, path, input.Get("packageIntact").ToBoolean());
  Napi::Object out = Napi::Object::New(env);
  out.Set("decision", DecisionName(verdict.decision));
  out.Set("rule", verdict.rule ? Napi::Value(RuleToJs(env, *verdict.rule)) : env.Null());
  return out;
}

// notifySystemd("READY=1") → true when sent: sd_notify(3) without libsystemd, so that the
// service can use Type=notify and WatchdogSec. False when NOTIFY_SOCKET is not set.
Napi::Value NotifySystemd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString())
    return ThrowType(env, "notifySystemd(state): a state string is required");
  const char* socket_path = getenv("NOTIFY_SOCKET");
  if (socket_path == nullptr || socket_path[0] == '\0') return Napi::Boolean::New(env, false);
  const std::string state = info[0].As<Napi::String>().Utf8Value();
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const size_t length = strlen(socket_path);
  if (length >= sizeof(address.sun_path))
    return Throw(env, "notifySystemd: NOTIFY_SOCKET is too long");
  memcpy(address.sun_path, socket_path, length);
  if (address.sun_path[0] == '@') address.sun_path[0] = '\0';  // abstract namespace
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Throw(env, std::string("notifySystemd: socket failed: ") + strerror(errno));
  const ssize_t sent =
      sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&address),
             socklen_t(offsetof(sockaddr_un, sun_path) + length));
  const int error = errno;
  close(fd);
  if (sent < 0) return Throw(env, std::string("notifySystemd: sendto failed: ") + strerror(error));
  return Napi::Boolean::New(env, true);
}

Napi::Value Version(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), GATEHOUSE_VERSION);
}

Napi::Value Backend(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), GATEHOUSE_BACKEND);
}

Napi::Value HashAcceleration(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), Sha256::HasHardwareSupport() ? "sha-ni" : "portable");
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("version", Napi::Function::New(env, Version, "version"));
  exports.Set("backend", Napi::Function::New(env, Backend, "backend"));
  exports.Set("hashAcceleration", Napi::Function::New(env, HashAcceleration, "hashAcceleration"));
  exports.Set("peerCredentials", Napi::Function::New(env, PeerCredentials, "peerCredentials"));
  exports.Set("sha256File", Napi::Function::New(env, Sha256File, "sha256File"));
  exports.Set("evaluate", Napi::Function::New(env, Evaluate, "evaluate"));
  exports.Set("notifySystemd", Napi::Function::New(env, NotifySystemd, "notifySystemd"));
  exports.Set("Monitor", Monitor::Define(env));
  return exports;
}

}  // namespace
}  // namespace gatehouse

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  return gatehouse::Init(env, exports);
}

NODE_API_MODULE(gatehouse_addon, InitAddon)
