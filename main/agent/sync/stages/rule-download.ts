// Santa's ruledownload: every page is gathered before any rule is applied, and all of them are
// applied in one transaction, so a sync that fails midway leaves the rules as they were. A rule
// the agent cannot take is skipped and reported, as Santa skips one.
import { normalizeKeys, policyName } from '../../../../common/santa';
import { execPolicy } from '../../../../common/policy';
import type { RuleNotice } from '../../../../common/control';
import {
  parseRule,
  RULE_DETAIL_LIMITS,
  RULE_POLICIES,
  RuleError,
  type RuleDetailField,
  type RulePolicy,
} from '../../../../common/rules';
import type { RuleTexts, StoreChange } from '../../store/rules';
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
  if (syncType === 'NORMAL') {
    rules.apply(changes, 'sync');
    context.agent.rulesArrived(noticesOf(changes));
  }
  // A clean sync's answer is the whole rule set: a removal in it has nothing to remove. Santa
  // shows no "can now be run" for it: a clean sync would name every program at once.
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

/** Santa's notification_app_name, for the BINARY rules that now let a program run. */
function noticesOf(changes: readonly StoreChange[]): RuleNotice[] {
  return changes.flatMap((change) =>
    change.notificationAppName &&
    change.type === 'BINARY' &&
    (change.policy === 'ALLOWLIST' || change.policy === 'ALLOWLIST_COMPILER')
      ? [{ sha256: change.identifier, appName: change.notificationAppName }]
      : [],
  );
}

/** A rule text from the server: blank is none; past its limit it is cut, as Santa cuts a label. */
function textOf(rule: Record<string, unknown>, field: RuleDetailField): string | null {
  const value = rule[field];
  if (typeof value !== 'string' || value.trim() === '') return null;
  return value.slice(0, RULE_DETAIL_LIMITS[field]);
}

/** Every text of Santa's rule; a CEL rule's expression is required, and never cut. */
function textsOf(rule: Record<string, unknown>, policy: unknown): RuleTexts | string {
  const cel = rule.cel_expr;
  if (policy === 'CEL' && (typeof cel !== 'string' || cel.trim() === ''))
    return 'a CEL rule without cel_expr';
  if (typeof cel === 'string' && cel.length > RULE_DETAIL_LIMITS.cel_expr)
    return `a CEL rule whose cel_expr is longer than ${RULE_DETAIL_LIMITS.cel_expr} characters`;
  return {
    customMsg: textOf(rule, 'custom_msg'),
    customUrl: textOf(rule, 'custom_url'),
    celExpr: policy === 'CEL' ? textOf(rule, 'cel_expr') : null,
    eventDetailButtonLabel: textOf(rule, 'event_detail_button_label'),
    notificationAppName: textOf(rule, 'notification_app_name'),
  };
}

/**
 * A rule from the server through the one rule constructor, or the reason it is skipped: the
 * native table must never be handed one it would refuse. The rule keeps Santa's policy and every
 * text; the native table gets what the Linux exec path enforces of it (common/policy.ts).
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
  // Santa's policies beyond the exec path's four are checked as this agent enforces them. A CEL
  // rule matches nothing here: it takes the place of what the agent held for its target.
  const santa = (RULE_POLICIES as readonly unknown[]).includes(named);
  const enforced = santa ? execPolicy(named as RulePolicy) : named;
  try {
    const checked = parseRule({ type, identifier, policy: enforced ?? 'REMOVE' }, true);
    if (checked.policy === 'REMOVE' && !santa) return checked;
    const texts = textsOf(rule, named);
    if (typeof texts === 'string') return `${checked.type} rule ${checked.identifier}: ${texts}`;
    return { ...checked, policy: named as RulePolicy, ...texts };
  } catch (error) {
    if (error instanceof RuleError) return error.message;
    throw error;
  }
}
