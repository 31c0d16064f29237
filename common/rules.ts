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
