// Santa's ruledownload: every page is gathered before any rule is applied, and all of them are
// applied in one transaction, so a sync that fails midway leaves the rules as they were. A rule
// the agent cannot take is skipped and reported, as Santa skips one.
import { normalizeKeys, policyName } from '../../../../common/santa';
import { execPolicy } from '../../../../common/policy';
import { parseRule, RULE_POLICIES, RuleError, type RulePolicy } from '../../../../common/rules';
import type { StoreChange } from '../../store/rules';
import { SyncError } from '../errors';
import type { SyncType } from './preflight';
import type { StageContext } from './stage';

/** How many skipped rules a sync names (all of them are counted: received less processed). */
const SKIPPED_REPORTED = 10;

/** Beyond any real rule set: a server that keeps sending cursors is broken, not large. */
const MAX_PAGES = 100_000;

export interface DownloadedRules {
  readonly received: number;
  readonly processed: number;
  /** Why rules were skipped (the first few): each names the rule and what is allowed. */
  readonly skipped: readonly string[];
}

export async function downloadRules(
  context: StageContext,
  syncType: SyncType,
): Promise<DownloadedRules> {
  const received = await fetchPages(context);
  const changes: StoreChange[] = [];
  const skipped: string[] = [];
  for (const raw of received) {
    const change = ruleChange(raw);
    if (typeof change !== 'string') changes.push(change);
    else if (skipped.length < SKIPPED_REPORTED) skipped.push(change);
  }
  const rules = context.agent.rules;
  if (syncType === 'NORMAL') rules.apply(changes, 'sync');
  // A clean sync's answer is the whole rule set: a removal in it has nothing to remove.
  else
    rules.replace(
      changes.filter((change) => change.policy !== 'REMOVE'),
      'sync',
    );
  return { received: received.length, processed: changes.length, skipped };
}

async function fetchPages({ transport }: StageContext): Promise<unknown[]> {
  const received: unknown[] = [];
  let cursor: string | undefined;
  for (let page = 0; ; page++) {
    if (page > MAX_PAGES) throw new SyncError('ruledownload: the server never stopped paginating');
    const response = normalizeKeys(
      await transport.stage('ruledownload', {
        machine_id: transport.machineId,
        ...(cursor ? { cursor } : {}),
      }),
      'ruledownload response',
    );
    const rules = response.rules ?? [];
    if (!Array.isArray(rules))
      throw new SyncError(
        'ruledownload: the server sent "rules" that is not a list; nothing was applied',
      );
    received.push(...rules);
    if (response.cursor === undefined || response.cursor === null || response.cursor === '')
      return received;
    if (typeof response.cursor !== 'string')
      throw new SyncError(
        'ruledownload: the server sent a cursor that is not a string; nothing was applied',
      );
    cursor = response.cursor;
  }
}

/**
 * A rule from the server through the one rule constructor, or the reason it is skipped: the
 * native table must never be handed one it would refuse.
 */
export function ruleChange(raw: unknown): StoreChange | string {
  if (typeof raw !== 'object' || raw === null) return 'a rule that is not an object';
  const rule = normalizeKeys(raw, 'rule');
  // Older servers send the hash as sha256 and the older policy names (WHITELIST, …).
  const identifier =
    typeof rule.identifier === 'string' && rule.identifier
      ? rule.identifier
      : typeof rule.sha256 === 'string'
        ? rule.sha256
        : rule.identifier;
  const type = typeof rule.rule_type === 'string' ? rule.rule_type.toUpperCase() : rule.rule_type;
  const named =
    typeof rule.policy === 'string' ? (policyName(rule.policy) ?? rule.policy) : rule.policy;
  // Santa's policies beyond the exec path's four, as this agent enforces them (common/policy.ts).
  // A CEL rule matches nothing here, so it takes the place of what the agent held for its target
  // as a removal would.
  const enforced = (RULE_POLICIES as readonly unknown[]).includes(named)
    ? execPolicy(named as RulePolicy)
    : named;
  const policy = enforced ?? 'REMOVE';
  try {
    const checked = parseRule({ type, identifier, policy }, true);
    return {
      ...checked,
      customMsg: typeof rule.custom_msg === 'string' ? rule.custom_msg : null,
      customUrl: typeof rule.custom_url === 'string' ? rule.custom_url : null,
    };
  } catch (error) {
    if (error instanceof RuleError) return error.message;
    throw error;
  }
}
