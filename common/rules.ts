// Santa's rule and decision vocabulary, shared by the agent, the native wrapper and the server.
import type { ClientMode } from './status';

export type { ClientMode };
export const CLIENT_MODES = ['MONITOR', 'LOCKDOWN'] as const satisfies readonly ClientMode[];

/** In Santa's precedence order: a CDHASH rule beats a BINARY rule, and so on. */
export const RULE_TYPES = ['CDHASH', 'BINARY', 'SIGNINGID', 'CERTIFICATE', 'TEAMID'] as const;
export type RuleType = (typeof RULE_TYPES)[number];

export const POLICIES = [
  'ALLOWLIST',
  'ALLOWLIST_COMPILER',
  'BLOCKLIST',
  'SILENT_BLOCKLIST',
] as const;
export type Policy = (typeof POLICIES)[number];

export const DECISIONS = [
  'ALLOW_UNKNOWN',
  'ALLOW_BINARY',
  'ALLOW_CERTIFICATE',
  'ALLOW_TEAMID',
  'ALLOW_SIGNINGID',
  'ALLOW_CDHASH',
  'ALLOW_SCOPE',
  'ALLOW_PLATFORM',
  // A file a compiler (an ALLOWLIST_COMPILER rule) wrote on this machine: Santa's transitive rule.
  'ALLOW_TRANSITIVE',
  'BLOCK_UNKNOWN',
  'BLOCK_BINARY',
  'BLOCK_CERTIFICATE',
  'BLOCK_TEAMID',
  'BLOCK_SIGNINGID',
  'BLOCK_CDHASH',
  'BLOCK_SCOPE',
] as const;
export type Decision = (typeof DECISIONS)[number];

export function isAllowDecision(decision: Decision): boolean {
  return decision.startsWith('ALLOW_');
}

/** A rule as the exec path sees it: what it matches and what it says. */
export interface RuleIdentity {
  readonly type: RuleType;
  readonly identifier: string;
  readonly policy: Policy;
}

/**
 * A transitive allow (Santa's ALLOWLIST_TRANSITIVE): a file a compiler wrote here, kept locally. It
 * holds for that file (dev, inode) while its content is still sha256: a rename keeps it, a copy
 * does not.
 */
export interface TransitiveRule {
  readonly dev: number;
  readonly inode: number;
  readonly sha256: string;
  /** The compiler's path as it ran, and its SHA-256 (the ALLOWLIST_COMPILER rule it matched). */
  readonly compiler: string;
  readonly compilerSha256: string;
  readonly createdMs: number;
  readonly lastUsedMs: number;
}

/** A change to the rule set: a rule to put, or REMOVE for the rule with that type and identifier. */
export interface RuleChange {
  readonly type: RuleType;
  readonly identifier: string;
  readonly policy: Policy | 'REMOVE';
}

/**
 * The longest TEAMID or SIGNINGID the native table keeps, in bytes of UTF-8 (native
 * RuleTable::Canonicalize).
 */
export const NAME_IDENTIFIER_MAX_BYTES = 512;

const DIGEST_LENGTHS: Partial<Record<RuleType, number>> = {
  BINARY: 64,
  CERTIFICATE: 64,
  CDHASH: 40,
};

/** What an identifier of each rule type must be, in the words errors use. */
export const IDENTIFIER_ALLOWED: Record<RuleType, string> = {
  BINARY: 'a SHA-256 (64 hex digits)',
  CERTIFICATE: 'a SHA-256 (64 hex digits)',
  CDHASH: '40 hex digits',
  SIGNINGID: `1 to ${NAME_IDENTIFIER_MAX_BYTES} bytes of UTF-8`,
  TEAMID: `1 to ${NAME_IDENTIFIER_MAX_BYTES} bytes of UTF-8`,
};

export type IdentifierCheck =
  | { readonly ok: true; readonly identifier: string }
  /** allowed: what the type takes (IDENTIFIER_ALLOWED); got: what this one is, in those terms. */
  | { readonly ok: false; readonly allowed: string; readonly got: string };

const HEX = /^[0-9a-fA-F]*$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Checks and canonicalises an identifier exactly as the native rule table does, so that a rule
 * this accepts is one the native table takes, and the store and the table name it alike: digests
 * in lowercase hex, names as given (a lone surrogate becomes U+FFFD, as it does on its way to C++
 * and to SQLite).
 */
export function validateRuleIdentifier(type: RuleType, identifier: string): IdentifierCheck {
  const digits = DIGEST_LENGTHS[type];
  if (digits !== undefined) {
    return identifier.length === digits && HEX.test(identifier)
      ? { ok: true, identifier: identifier.toLowerCase() }
      : { ok: false, allowed: IDENTIFIER_ALLOWED[type], got: showIdentifier(identifier) };
  }
  const bytes = utf8Length(identifier);
  if (bytes === 0 || bytes > NAME_IDENTIFIER_MAX_BYTES)
    return { ok: false, allowed: IDENTIFIER_ALLOWED[type], got: `${bytes} bytes` };
  return { ok: true, identifier: identifier.replace(LONE_SURROGATE, '\uFFFD') };
}

/** A rule refused on its way in; the message names the rule and what is allowed. */
export class RuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuleError';
  }
}

/**
 * The one way a rule enters the agent (control socket, sync, config, store): checked as the
 * native table checks it and canonicalised, or a RuleError saying which rule and what is allowed.
 * `allowRemove` admits the policy REMOVE, for a change that takes a rule away.
 */
export function parseRule(rule: {
  type: unknown;
  identifier: unknown;
  policy: unknown;
}): RuleIdentity;
export function parseRule(
  rule: { type: unknown; identifier: unknown; policy: unknown },
  allowRemove: true,
): RuleChange;
export function parseRule(
  rule: { type: unknown; identifier: unknown; policy: unknown },
  allowRemove = false,
): RuleChange {
  const { type, identifier, policy } = rule;
  const name =
    typeof identifier === 'string' ? showIdentifier(identifier) : 'without an identifier';
  if (typeof type !== 'string' || !(RULE_TYPES as readonly string[]).includes(type))
    throw new RuleError(
      `rule ${name} refused: the type must be one of ${RULE_TYPES.join(', ')}, got ${JSON.stringify(type) ?? 'nothing'}`,
    );
  const ruleType = type as RuleType;
  if (typeof identifier !== 'string')
    throw new RuleError(
      `${ruleType} rule refused: the identifier must be ${IDENTIFIER_ALLOWED[ruleType]}, got ${JSON.stringify(identifier) ?? 'nothing'}`,
    );
  const allowed: readonly string[] = allowRemove ? [...POLICIES, 'REMOVE'] : POLICIES;
  if (typeof policy !== 'string' || !allowed.includes(policy))
    throw new RuleError(
      `${ruleType} rule ${name} refused: the policy must be one of ${allowed.join(', ')}, got ${JSON.stringify(policy) ?? 'nothing'}`,
    );
  const checked = validateRuleIdentifier(ruleType, identifier);
  if (!checked.ok)
    throw new RuleError(
      `${ruleType} rule ${name} refused: the identifier must be ${checked.allowed}` +
        (DIGEST_LENGTHS[ruleType] === undefined ? `, got ${checked.got}` : ''),
    );
  return { type: ruleType, identifier: checked.identifier, policy: policy as Policy | 'REMOVE' };
}

/** An identifier as errors show it: quoted, and cut short when long. */
function showIdentifier(identifier: string): string {
  return JSON.stringify(identifier.length > 80 ? `${identifier.slice(0, 80)}…` : identifier);
}

/** Bytes of UTF-8, as V8 writes a string for C++ (a lone surrogate as U+FFFD: 3 bytes). */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Santa's rule as the server keeps, resolves and sends it (sync/v1.proto `Rule`).

/**
 * Every policy a synced rule may carry (sync/v1.proto `Policy`, REMOVE aside): the four the exec
 * path enforces, CEL (decided by its `cel_expr`), and the blocks that are silent in the GUI only
 * or in the terminal only. A Linux agent enforces what `execPolicy` (common/policy.ts) maps them to.
 */
export const RULE_POLICIES = [
  ...POLICIES,
  'CEL',
  'SILENT_GUI_BLOCKLIST',
  'SILENT_TTY_BLOCKLIST',
] as const;
export type RulePolicy = (typeof RULE_POLICIES)[number];

/** ALLOWLIST_COMPILER applies to these types only (Santa's policy processor). */
export const COMPILER_RULE_TYPES: readonly RuleType[] = ['BINARY', 'CDHASH', 'SIGNINGID'];

/** A rule's optional texts, by their sync/v1.proto names. */
export const RULE_DETAIL_FIELDS = [
  'custom_msg',
  'custom_url',
  'cel_expr',
  'event_detail_button_label',
  'notification_app_name',
] as const;
export type RuleDetailField = (typeof RULE_DETAIL_FIELDS)[number];
export type RuleDetails = { readonly [K in RuleDetailField]: string | null };

/**
 * The longest each text may be, in characters. The button label is Santa's own limit
 * (kEventDetailButtonTextMaxLength, where Santa truncates); the others bound what one rule costs
 * every machine it reaches.
 */
export const RULE_DETAIL_LIMITS: Readonly<Record<RuleDetailField, number>> = {
  custom_msg: 2048,
  custom_url: 2048,
  cel_expr: 8192,
  event_detail_button_label: 48,
  notification_app_name: 256,
};

/** What a Santa client accepts as each rule type's identifier, and how it is stored. */
const SANTA_IDENTIFIERS: Record<
  RuleType,
  { pattern: RegExp; says: string; normal(id: string): string }
> = {
  BINARY: {
    pattern: /^[0-9a-f]{64}$/i,
    says: "the file's SHA-256 (64 hex digits)",
    normal: (id) => id.toLowerCase(),
  },
  CERTIFICATE: {
    pattern: /^[0-9a-f]{64}$/i,
    says: "the leaf certificate's SHA-256 (64 hex digits)",
    normal: (id) => id.toLowerCase(),
  },
  CDHASH: {
    pattern: /^[0-9a-f]{40}$/i,
    says: 'a CDHash (40 hex digits)',
    normal: (id) => id.toLowerCase(),
  },
  TEAMID: {
    pattern: /^[A-Z0-9]{10}$/i,
    says: 'a 10-character Team ID such as EQHXZ8M8AV',
    normal: (id) => id.toUpperCase(),
  },
  SIGNINGID: {
    pattern: /^([A-Z0-9]{10}|platform):[^\s:][^\s]{0,254}$/,
    says: 'TEAMID:signing.id or platform:signing.id',
    normal: (id) => id,
  },
};

/** A rule as the console creates it and the server sends it: what it matches, says and shows. */
export interface RuleSpec extends RuleDetails {
  readonly rule_type: RuleType;
  readonly identifier: string;
  readonly policy: RulePolicy;
}

/** An optional text: absent, null or blank is null; otherwise text within its limit. */
function detailText(value: unknown, field: RuleDetailField): string | null {
  if (value === undefined || value === null) return null;
  const max = RULE_DETAIL_LIMITS[field];
  if (typeof value !== 'string' || value.length > max)
    throw new RuleError(`${field} must be text of at most ${max} characters`);
  return value.trim() || null;
}

/** The texts of a rule, checked against its policy. */
function ruleDetails(input: Record<string, unknown>, policy: RulePolicy): RuleDetails {
  const details = Object.fromEntries(
    RULE_DETAIL_FIELDS.map((field) => [field, detailText(input[field], field)]),
  ) as Record<RuleDetailField, string | null>;
  if (details.custom_url !== null && !/^https?:\/\/\S+$/.test(details.custom_url))
    throw new RuleError('custom_url must be an http:// or https:// address');
  if (policy === 'CEL' && details.cel_expr === null)
    throw new RuleError('a CEL rule needs cel_expr, the expression Santa evaluates at each launch');
  if (policy !== 'CEL' && details.cel_expr !== null)
    throw new RuleError('cel_expr is for CEL rules only; choose the policy CEL or leave it empty');
  return details;
}

/**
 * The one way a rule enters the server (console, approvals): its type, identifier in the shape a
 * Santa client takes, policy and texts, checked together and canonicalised, or a RuleError that
 * says which field is wrong and what it must be.
 */
export function parseRuleSpec(input: Record<string, unknown>): RuleSpec {
  const type = input.rule_type ?? 'BINARY';
  if (typeof type !== 'string' || !(RULE_TYPES as readonly string[]).includes(type))
    throw new RuleError(`rule_type must be one of ${RULE_TYPES.join(', ')}`);
  const ruleType = type as RuleType;
  const raw = input.identifier;
  const shape = SANTA_IDENTIFIERS[ruleType];
  if (typeof raw !== 'string' || !shape.pattern.test(raw.trim()))
    throw new RuleError(`a ${ruleType} rule's identifier is ${shape.says}`);
  const policy = input.policy;
  if (typeof policy !== 'string' || !(RULE_POLICIES as readonly string[]).includes(policy))
    throw new RuleError(`policy must be one of ${RULE_POLICIES.join(', ')}`);
  if (policy === 'ALLOWLIST_COMPILER' && !COMPILER_RULE_TYPES.includes(ruleType))
    throw new RuleError(
      `ALLOWLIST_COMPILER applies to ${COMPILER_RULE_TYPES.join(', ')} rules only`,
    );
  return {
    rule_type: ruleType,
    identifier: shape.normal(raw.trim()),
    policy: policy as RulePolicy,
    ...ruleDetails(input, policy as RulePolicy),
  };
}

// ---------------------------------------------------------------------------------------------
// Scopes: which of several rules for one target a machine holds.

/** Who a rule reaches, from the widest to the narrowest. */
export const RULE_SCOPES = ['global', 'user', 'tag', 'machine'] as const;
export type RuleScope = (typeof RULE_SCOPES)[number];

const SCOPE_LEVEL: Record<string, number> = { global: 0, user: 1, tag: 2, machine: 3 };

/** Within one scope level, a block beats a CEL rule, which beats an allow. */
function restrictiveness(policy: string): number {
  if (policy === 'ALLOWLIST' || policy === 'ALLOWLIST_COMPILER') return 0;
  return policy === 'CEL' ? 1 : 2;
}

/** What precedence looks at; `id` grows with every rule put, so a larger one is newer. */
export interface RankedRule {
  readonly id: number;
  readonly rule_type: string;
  readonly identifier: string;
  readonly scope: string;
  readonly policy: string;
}

/**
 * Santa keys rules by (identifier, rule type) and holds one per key; when several rules for one
 * key reach a machine, the one it holds is the narrowest scope's (machine over tag over user over
 * global), then the most restrictive policy's (two tags), then the newest. The server's sync and
 * the console's "reaches this machine" both decide with this.
 */
export function outranks(a: RankedRule, b: RankedRule): boolean {
  const level = (SCOPE_LEVEL[a.scope] ?? 0) - (SCOPE_LEVEL[b.scope] ?? 0);
  if (level !== 0) return level > 0;
  const strict = restrictiveness(a.policy) - restrictiveness(b.policy);
  if (strict !== 0) return strict > 0;
  return Number(a.id) > Number(b.id);
}

/** Whether a rule's scope is narrower than another's: such a change can alter a winner. */
export function scopeLevel(scope: string): number {
  return SCOPE_LEVEL[scope] ?? 0;
}

/** Santa's key for a rule. */
export const ruleKey = (ruleType: string, identifier: string): string =>
  `${ruleType}\u0000${identifier}`;

/** The rule each key resolves to among these (all of which reach one machine). */
export function resolveRules<T extends RankedRule>(rules: Iterable<T>): Map<string, T> {
  const winners = new Map<string, T>();
  for (const rule of rules) {
    const key = ruleKey(rule.rule_type, rule.identifier);
    const held = winners.get(key);
    if (held === undefined || outranks(rule, held)) winners.set(key, rule);
  }
  return winners;
}

// ---------------------------------------------------------------------------------------------
// What a Santa client reports holding (preflight's *_rule_count), as Santa counts its table.

/** The counts a preflight may carry that the server can know (transitive rules are local). */
export const RULE_COUNT_KINDS = [
  'binary',
  'certificate',
  'compiler',
  'teamid',
  'signingid',
  'cdhash',
] as const;
export type RuleCountKind = (typeof RULE_COUNT_KINDS)[number];
export type RuleCounts = Record<RuleCountKind, number>;

const COUNT_OF_TYPE: Record<RuleType, RuleCountKind> = {
  BINARY: 'binary',
  CERTIFICATE: 'certificate',
  TEAMID: 'teamid',
  SIGNINGID: 'signingid',
  CDHASH: 'cdhash',
};

export const noRuleCounts = (): RuleCounts => ({
  binary: 0,
  certificate: 0,
  compiler: 0,
  teamid: 0,
  signingid: 0,
  cdhash: 0,
});

/**
 * Adds held rules of one type and policy (a negative number takes them away) to counts as
 * Santa's rule table counts them: each
 * type counts every row of that type, compilers included (SNTRuleTable ruleCountForRuleType), and
 * `compiler` counts ALLOWLIST_COMPILER rows of any type.
 */
export function countRule(
  counts: RuleCounts,
  rule: { readonly rule_type: string; readonly policy: string },
  rows = 1,
): void {
  const kind = COUNT_OF_TYPE[rule.rule_type as RuleType];
  if (kind) counts[kind] += rows;
  if (rule.policy === 'ALLOWLIST_COMPILER') counts.compiler += rows;
}

/**
 * The counts a client reported that disagree with what it should hold. Santa's binary count
 * includes its transitive rules (BINARY rows it made itself), so those are taken off first; a
 * count the client did not send is not compared.
 */
export function countsThatDisagree(
  reported: Partial<Record<RuleCountKind | 'transitive', number>>,
  expected: RuleCounts,
): RuleCountKind[] {
  return RULE_COUNT_KINDS.filter((kind) => {
    const got = reported[kind];
    if (got === undefined) return false;
    const held = kind === 'binary' ? got - (reported.transitive ?? 0) : got;
    return held !== expected[kind];
  });
}
