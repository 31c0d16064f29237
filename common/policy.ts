// What a decision means, in words: the native authorizer decides (on the exec path, and through
// `evaluate` for gatehousectl fileinfo --check); this only explains.
import {
  type Decision,
  type Policy,
  type RuleIdentity,
  type RulePolicy,
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

/**
 * Santa's words for a decision the native authorizer made: precedence is decided natively (the
 * exec path and `evaluate`), and this only says it.
 */
export function explainVerdict(verdict: {
  readonly decision: Decision;
  readonly rule: RuleIdentity | null;
}): Explanation {
  const { decision, rule } = verdict;
  const words = rule
    ? REASON[rule.type]
    : decision === 'BLOCK_SCOPE'
      ? 'Blocked path'
      : decision === 'ALLOW_SCOPE'
        ? 'Allowed path'
        : decision === 'ALLOW_PLATFORM'
          ? 'Package-managed binary'
          : decision === 'ALLOW_TRANSITIVE'
            ? 'Built here by a compiler (transitive rule)'
            : decision === 'BLOCK_UNKNOWN'
              ? 'No matching rule'
              : 'No matching rule (monitor mode)';
  return { decision, rule, reason: words };
}

/**
 * What the Linux exec path enforces for a synced rule's policy. CEL needs Santa's evaluator and
 * the macOS code-signing facts it reads, so a Linux agent keeps a CEL rule (and sends it back in
 * its counts) but lets it match nothing: the exec falls through to the next rule, the path scopes
 * and the client mode. SILENT_GUI_BLOCKLIST blocks without the dialog; SILENT_TTY_BLOCKLIST, silent
 * only in a terminal Gatehouse does not write to, blocks like BLOCKLIST.
 */
export function execPolicy(policy: RulePolicy): Policy | null {
  switch (policy) {
    case 'CEL':
      return null;
    case 'SILENT_GUI_BLOCKLIST':
      return 'SILENT_BLOCKLIST';
    case 'SILENT_TTY_BLOCKLIST':
      return 'BLOCKLIST';
    default:
      return policy;
  }
}
