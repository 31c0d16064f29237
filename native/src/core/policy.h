// Santa's rule model and decisions, and the rule table the exec path looks up.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "digest_map.h"
#include "sha256.h"

namespace gatehouse {

// Listed in Santa's precedence order: a CDHASH rule beats a BINARY rule, and so on.
enum class RuleType : uint8_t { kCdHash, kBinary, kSigningId, kCertificate, kTeamId };
constexpr RuleType kRuleTypesByPrecedence[] = {RuleType::kCdHash, RuleType::kBinary,
                                               RuleType::kSigningId, RuleType::kCertificate,
                                               RuleType::kTeamId};

enum class Policy : uint8_t { kAllowlist, kAllowlistCompiler, kBlocklist, kSilentBlocklist };
enum class ClientMode : uint8_t { kMonitor, kLockdown };

enum class Decision : uint8_t {
  kAllowUnknown,
  kAllowBinary,
  kAllowCertificate,
  kAllowTeamId,
  kAllowSigningId,
  kAllowCdHash,
  kAllowScope,
  kAllowPlatform,
  kBlockUnknown,
  kBlockBinary,
  kBlockCertificate,
  kBlockTeamId,
  kBlockSigningId,
  kBlockCdHash,
  kBlockScope,
  // A file a compiler wrote here (TransitiveTable): decided after the rules and the blocked scopes.
  kAllowTransitive,
};

const char* RuleTypeName(RuleType type);
const char* PolicyName(Policy policy);
const char* DecisionName(Decision decision);
std::optional<RuleType> ParseRuleType(const std::string& name);
std::optional<Policy> ParsePolicy(const std::string& name);
bool IsAllow(Decision decision);

// What an executable is known by. On Linux only the SHA-256 is ever set.
struct Identity {
  std::optional<Digest> sha256;
  std::optional<Digest> cdhash;  // 20 bytes on macOS, zero-padded
  std::string signing_id;
  std::optional<Digest> certificate_sha256;
  std::string team_id;
};

struct Rule {
  RuleType type;
  std::string identifier;  // canonical: lowercase hex for digests
  Policy policy;
};

struct Verdict {
  Decision decision;
  std::optional<Rule> rule;  // the rule that matched, if any
};

// Identifier + rule type → policy. Digest-keyed types are stored as 32 raw bytes so that a
// million BINARY rules stay compact and a lookup never allocates.
class RuleTable {
 public:
  // Validates and canonicalises an identifier for its type; false with a reason when it is bad.
  static bool Canonicalize(RuleType type, const std::string& identifier, std::string* canonical,
                           std::string* error);

  void Put(const Rule& rule);
  void PutBinary(const Digest& sha256, Policy policy) { binary_.put(sha256, policy); }
  // Room for this many more BINARY rules, so that a bulk load grows the table once.
  void ReserveMoreBinary(size_t more) { binary_.reserve_more(more); }
  bool Remove(RuleType type, const std::string& canonical_identifier);
  void Clear();
  size_t Size() const;
  std::optional<Policy> Find(RuleType type, const Identity& identity) const;

 private:
  DigestMap<Policy> binary_;
  DigestMap<Policy> cdhash_;
  DigestMap<Policy> certificate_;
  std::unordered_map<std::string, Policy> signing_id_;
  std::unordered_map<std::string, Policy> team_id_;
};

// Path scopes, checked after every rule: a blocked prefix first, then an allowed one. A prefix
// matches the path itself and anything below it ("/opt/tools" matches "/opt/tools/x", not
// "/opt/toolsx").
struct Scopes {
  std::vector<std::string> blocked;
  std::vector<std::string> allowed;
  static std::string Normalize(const std::string& prefix);
  static bool Matches(const std::vector<std::string>& prefixes, const std::string& path);
};

// Santa's precedence over the rule types, then blocked scope, a file a compiler built here
// (transitive: ALLOW_TRANSITIVE), allowed scope, a package-managed file whose content still matches
// its package (ALLOW_PLATFORM), then the mode.
Verdict Decide(const RuleTable& rules, const Identity& identity, ClientMode mode,
               const Scopes& scopes = Scopes(), const std::string& path = std::string(),
               bool package_intact = false, bool transitive = false);

}  // namespace gatehouse
