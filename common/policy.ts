// The decision the exec path makes, in TypeScript, with the reason that produced it. The native
// authorizer decides; this explains (gatehousectl fileinfo --check, the block dialog), and a test
// holds the two to the same answers.
import {
  RULE_TYPES,
  type ClientMode,
  type Decision,
  type Policy,
  type RuleIdentity,
  type RuleType,
} from './rules';

/**
 * Why an exec's answer is not simply the rules' outcome, as the native authorizer reports it, in
 * the words the user and the helpdesk see.
 */
export const DECISION_REASONS = {
  deadline: 'not decided in time (DeadlineMs): the fail mode answered',
  busy: 'this user already had too many programs waiting to be checked',
  'queue-full': 'too many programs were waiting to be checked',
  'too-large': 'too large to check (MaxExecutableSizeMB)',
  'open-for-writing': 'the file was open for writing as it was started',
  'written-while-deciding': 'the file was written while it was being checked',
  unreadable: 'the file could not be read',
  stopped: 'Gatehouse stopped before it was checked',
  'memory-file': 'started from memory (memfd), where no file can be checked',
  'namespace-mount': 'started from a filesystem mounted in a user namespace',
  fuse: 'started from a FUSE filesystem',
  'unwatched-filesystem': 'started from a filesystem Gatehouse does not watch (yet)',
  'untrusted-library':
    'code mapped from a file a user can write that Gatehouse has not allowed (the loader, LD_PRELOAD, dlopen)',
} as const;
export type DecisionReason = keyof typeof DECISION_REASONS;

export interface FileIdentity {
  readonly sha256?: string;
  readonly cdhash?: string;
  readonly signingId?: string;
  readonly certificateSha256?: string;
  readonly teamId?: string;
  readonly path?: string;
  /** Package-managed, and the content still matches what the package installed. */
  readonly packageIntact?: boolean;
}

export interface PathScopes {
  readonly allowed?: readonly string[];
  readonly blocked?: readonly string[];
}

export interface Explanation {
  readonly decision: Decision;
  readonly rule: RuleIdentity | null;
  /** Santa's words for why: "Binary rule", "Blocked path", "No matching rule", ... */
  readonly reason: string;
}

const IDENTITY_FIELD: Record<
  RuleType,
  'cdhash' | 'sha256' | 'signingId' | 'certificateSha256' | 'teamId'
> = {
  CDHASH: 'cdhash',
  BINARY: 'sha256',
  SIGNINGID: 'signingId',
  CERTIFICATE: 'certificateSha256',
  TEAMID: 'teamId',
};

const REASON: Record<RuleType, string> = {
  CDHASH: 'CDHash rule',
  BINARY: 'Binary rule',
  SIGNINGID: 'Signing ID rule',
  CERTIFICATE: 'Certificate rule',
  TEAMID: 'Team ID rule',
};

const DIGEST_TYPES: ReadonlySet<RuleType> = new Set(['CDHASH', 'BINARY', 'CERTIFICATE']);

/** Canonical identifier: digests are lowercase, names as given. */
export function canonicalIdentifier(type: RuleType, identifier: string): string {
  return DIGEST_TYPES.has(type) ? identifier.toLowerCase() : identifier;
}

function isAllowPolicy(policy: Policy): boolean {
  return policy === 'ALLOWLIST' || policy === 'ALLOWLIST_COMPILER';
}

function normalizePrefix(prefix: string): string {
  let normalized = prefix;
  while (normalized.length > 1 && normalized.endsWith('/')) normalized = normalized.slice(0, -1);
  return normalized;
}

/** A prefix matches the path itself and anything below it, never a sibling with a longer name. */
export function pathInScope(prefixes: readonly string[] | undefined, path: string): boolean {
  return (prefixes ?? []).some((raw) => {
    const prefix = normalizePrefix(raw);
    if (prefix === '/') return path.length > 0;
    return path === prefix || path.startsWith(`${prefix}/`);
  });
}

export function explainDecision(
  identity: FileIdentity,
  rules: readonly RuleIdentity[],
  mode: ClientMode,
  scopes: PathScopes = {},
): Explanation {
  const byKey = new Map<string, RuleIdentity>();
  for (const rule of rules)
    byKey.set(`${rule.type}:${canonicalIdentifier(rule.type, rule.identifier)}`, rule);
  for (const type of RULE_TYPES) {
    const value = identity[IDENTITY_FIELD[type]];
    if (!value) continue;
    const rule = byKey.get(`${type}:${canonicalIdentifier(type, value)}`);
    if (!rule) continue;
    const allow = isAllowPolicy(rule.policy);
    return {
      decision: `${allow ? 'ALLOW' : 'BLOCK'}_${type}` as Decision,
      rule: { type, identifier: canonicalIdentifier(type, value), policy: rule.policy },
      reason: REASON[type],
    };
  }
  if (identity.path && pathInScope(scopes.blocked, identity.path)) {
    return { decision: 'BLOCK_SCOPE', rule: null, reason: 'Blocked path' };
  }
  if (identity.path && pathInScope(scopes.allowed, identity.path)) {
    return { decision: 'ALLOW_SCOPE', rule: null, reason: 'Allowed path' };
  }
  if (identity.packageIntact) {
    return { decision: 'ALLOW_PLATFORM', rule: null, reason: 'Package-managed binary' };
  }
  return {
    decision: mode === 'LOCKDOWN' ? 'BLOCK_UNKNOWN' : 'ALLOW_UNKNOWN',
    rule: null,
    reason: mode === 'LOCKDOWN' ? 'No matching rule' : 'No matching rule (monitor mode)',
  };
}
