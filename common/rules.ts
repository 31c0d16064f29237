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
