#include "policy.h"

#include <cctype>

namespace gatehouse {

const char* RuleTypeName(RuleType type) {
  switch (type) {
    case RuleType::kCdHash: return "CDHASH";
    case RuleType::kBinary: return "BINARY";
    case RuleType::kSigningId: return "SIGNINGID";
    case RuleType::kCertificate: return "CERTIFICATE";
    case RuleType::kTeamId: return "TEAMID";
  }
  return "UNKNOWN";
}

const char* PolicyName(Policy policy) {
  switch (policy) {
    case Policy::kAllowlist: return "ALLOWLIST";
    case Policy::kAllowlistCompiler: return "ALLOWLIST_COMPILER";
    case Policy::kBlocklist: return "BLOCKLIST";
    case Policy::kSilentBlocklist: return "SILENT_BLOCKLIST";
  }
  return "UNKNOWN";
}

const char* DecisionName(Decision decision) {
  switch (decision) {
    case Decision::kAllowUnknown: return "ALLOW_UNKNOWN";
    case Decision::kAllowBinary: return "ALLOW_BINARY";
    case Decision::kAllowCertificate: return "ALLOW_CERTIFICATE";
    case Decision::kAllowTeamId: return "ALLOW_TEAMID";
    case Decision::kAllowSigningId: return "ALLOW_SIGNINGID";
    case Decision::kAllowCdHash: return "ALLOW_CDHASH";
    case Decision::kAllowScope: return "ALLOW_SCOPE";
    case Decision::kAllowPlatform: return "ALLOW_PLATFORM";
    case Decision::kBlockUnknown: return "BLOCK_UNKNOWN";
    case Decision::kBlockBinary: return "BLOCK_BINARY";
    case Decision::kBlockCertificate: return "BLOCK_CERTIFICATE";
    case Decision::kBlockTeamId: return "BLOCK_TEAMID";
    case Decision::kBlockSigningId: return "BLOCK_SIGNINGID";
    case Decision::kBlockCdHash: return "BLOCK_CDHASH";
    case Decision::kBlockScope: return "BLOCK_SCOPE";
    case Decision::kAllowTransitive: return "ALLOW_TRANSITIVE";
  }
  return "UNKNOWN";
}

std::optional<RuleType> ParseRuleType(const std::string& name) {
  for (RuleType type : kRuleTypesByPrecedence) {
    if (name == RuleTypeName(type)) return type;
  }
  return std::nullopt;
}

std::optional<Policy> ParsePolicy(const std::string& name) {
  for (Policy policy : {Policy::kAllowlist, Policy::kAllowlistCompiler, Policy::kBlocklist,
                        Policy::kSilentBlocklist}) {
    if (name == PolicyName(policy)) return policy;
  }
  return std::nullopt;
}

bool IsAllow(Decision decision) {
  return decision <= Decision::kAllowPlatform || decision == Decision::kAllowTransitive;
}

std::string Scopes::Normalize(const std::string& prefix) {
  std::string normalized = prefix;
  while (normalized.size() > 1 && normalized.back() == '/') normalized.pop_back();
  return normalized;
}

bool Scopes::Matches(const std::vector<std::string>& prefixes, const std::string& path) {
  for (const std::string& prefix : prefixes) {
    if (prefix == "/") return !path.empty();
    if (path.compare(0, prefix.size(), prefix) == 0 &&
        (path.size() == prefix.size() || path[prefix.size()] == '/')) {
      return true;
    }
  }
  return false;
}

namespace {

Decision DecisionFor(RuleType type, Policy policy) {
  const bool allow = policy == Policy::kAllowlist || policy == Policy::kAllowlistCompiler;
  switch (type) {
    case RuleType::kCdHash: return allow ? Decision::kAllowCdHash : Decision::kBlockCdHash;
    case RuleType::kBinary: return allow ? Decision::kAllowBinary : Decision::kBlockBinary;
    case RuleType::kSigningId: return allow ? Decision::kAllowSigningId : Decision::kBlockSigningId;
    case RuleType::kCertificate:
      return allow ? Decision::kAllowCertificate : Decision::kBlockCertificate;
    case RuleType::kTeamId: return allow ? Decision::kAllowTeamId : Decision::kBlockTeamId;
  }
  return allow ? Decision::kAllowUnknown : Decision::kBlockUnknown;
}

bool ParseCdHash(const std::string& hex, Digest* out) {
  // A CDHASH is 20 bytes (40 hex digits); stored zero-padded to 32.
  if (hex.size() != 40) return false;
  std::string padded = hex + std::string(24, '0');
  return FromHex(padded, out);
}

}  // namespace

bool RuleTable::Canonicalize(RuleType type, const std::string& identifier, std::string* canonical,
                             std::string* error) {
  Digest digest;
  switch (type) {
    case RuleType::kBinary:
    case RuleType::kCertificate:
      if (!FromHex(identifier, &digest)) {
        *error = std::string(RuleTypeName(type)) +
                 " rules need a SHA-256 of 64 hex digits, got \"" + identifier + "\"";
        return false;
      }
      *canonical = ToHex(digest);
      return true;
    case RuleType::kCdHash:
      if (!ParseCdHash(identifier, &digest)) {
        *error = "CDHASH rules need 40 hex digits, got \"" + identifier + "\"";
        return false;
      }
      *canonical = ToHex(digest).substr(0, 40);
      return true;
    case RuleType::kTeamId:
    case RuleType::kSigningId:
      if (identifier.empty() || identifier.size() > 512) {
        *error =
            std::string(RuleTypeName(type)) + " rules need an identifier of 1 to 512 characters";
        return false;
      }
      *canonical = identifier;
      return true;
  }
  *error = "unknown rule type";
  return false;
}

void RuleTable::Put(const Rule& rule) {
  Digest digest{};
  switch (rule.type) {
    case RuleType::kBinary:
      FromHex(rule.identifier, &digest);
      binary_.put(digest, rule.policy);
      break;
    case RuleType::kCertificate:
      FromHex(rule.identifier, &digest);
      certificate_.put(digest, rule.policy);
      break;
    case RuleType::kCdHash:
      ParseCdHash(rule.identifier, &digest);
      cdhash_.put(digest, rule.policy);
      break;
    case RuleType::kSigningId: signing_id_[rule.identifier] = rule.policy; break;
    case RuleType::kTeamId: team_id_[rule.identifier] = rule.policy; break;
  }
}

bool RuleTable::Remove(RuleType type, const std::string& identifier) {
  Digest digest{};
  switch (type) {
    case RuleType::kBinary: return FromHex(identifier, &digest) && binary_.erase(digest);
    case RuleType::kCertificate: return FromHex(identifier, &digest) && certificate_.erase(digest);
    case RuleType::kCdHash: return ParseCdHash(identifier, &digest) && cdhash_.erase(digest);
    case RuleType::kSigningId: return signing_id_.erase(identifier) > 0;
    case RuleType::kTeamId: return team_id_.erase(identifier) > 0;
  }
  return false;
}

void RuleTable::Clear() {
  binary_.clear();
  cdhash_.clear();
  certificate_.clear();
  signing_id_.clear();
  team_id_.clear();
}

size_t RuleTable::Size() const {
  return binary_.size() + cdhash_.size() + certificate_.size() + signing_id_.size() +
         team_id_.size();
}

std::optional<Policy> RuleTable::Find(RuleType type, const Identity& identity) const {
  auto find_digest = [](const DigestMap<Policy>& map,
                        const std::optional<Digest>& key) -> std::optional<Policy> {
    return key ? map.find(*key) : std::nullopt;
  };
  auto find_string = [](const auto& map, const std::string& key) -> std::optional<Policy> {
    if (key.empty() || map.empty()) return std::nullopt;
    auto it = map.find(key);
    return it == map.end() ? std::nullopt : std::optional<Policy>(it->second);
  };
  switch (type) {
    case RuleType::kCdHash: return find_digest(cdhash_, identity.cdhash);
    case RuleType::kBinary: return find_digest(binary_, identity.sha256);
    case RuleType::kSigningId: return find_string(signing_id_, identity.signing_id);
    case RuleType::kCertificate: return find_digest(certificate_, identity.certificate_sha256);
    case RuleType::kTeamId: return find_string(team_id_, identity.team_id);
  }
  return std::nullopt;
}

Verdict Decide(const RuleTable& rules, const Identity& identity, ClientMode mode,
               const Scopes& scopes, const std::string& path, bool package_intact,
               bool transitive) {
  for (RuleType type : kRuleTypesByPrecedence) {
    if (auto policy = rules.Find(type, identity)) {
      std::string identifier;
      switch (type) {
        case RuleType::kCdHash: identifier = ToHex(*identity.cdhash).substr(0, 40); break;
        case RuleType::kBinary: identifier = ToHex(*identity.sha256); break;
        case RuleType::kSigningId: identifier = identity.signing_id; break;
        case RuleType::kCertificate: identifier = ToHex(*identity.certificate_sha256); break;
        case RuleType::kTeamId: identifier = identity.team_id; break;
      }
      return {DecisionFor(type, *policy), Rule{type, identifier, *policy}};
    }
  }
  if (!path.empty() && Scopes::Matches(scopes.blocked, path))
    return {Decision::kBlockScope, std::nullopt};
  if (transitive) return {Decision::kAllowTransitive, std::nullopt};
  if (!path.empty() && Scopes::Matches(scopes.allowed, path))
    return {Decision::kAllowScope, std::nullopt};
  if (package_intact) return {Decision::kAllowPlatform, std::nullopt};
  return {mode == ClientMode::kLockdown ? Decision::kBlockUnknown : Decision::kAllowUnknown,
          std::nullopt};
}

}  // namespace gatehouse
