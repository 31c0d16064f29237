// Rules with scopes and expiry. Every change takes the next version from one sequence, so that a
// machine gets exactly what changed since the version it last acknowledged.
import { sql, type ExpressionBuilder } from 'kysely';
import { ruleTarget, type PushHub } from '../push';
import { audit } from './audit';
import type { Db } from './connect';
import type { Database, RulesTable } from './schema';
import { containsText, type Page, type PageOf } from './search';

export interface NewRule {
  identifier: string;
  rule_type: string;
  policy: string;
  custom_msg?: string | null;
  custom_url?: string | null;
  scope: 'global' | 'machine' | 'user' | 'tag';
  scope_value?: string | null;
  expires_at?: number | null;
  comment?: string | null;
  created_by: string;
}

export type RuleRow = Omit<RulesTable, 'id'> & { id: number };

export type RuleScope = NewRule['scope'];

/** Who made a change from the console, and why: audited in the change's own transaction. */
export interface RuleChangeBy {
  readonly actor: string;
  readonly details?: Record<string, unknown>;
}

/** What the rules list can be narrowed to. Only rules in force are listed. */
export interface RuleFilter {
  readonly scope?: RuleScope;
  /** The scope's machine id, user or tag, exactly. */
  readonly scopeValue?: string;
  readonly ruleType?: string;
  readonly policy?: string;
  readonly identifier?: string;
  /** Part of the identifier, the comment or the custom message. */
  readonly text?: string;
}

export class RuleRepository {
  constructor(
    private readonly db: Db,
    private readonly push?: PushHub,
  ) {}

  async #nextVersion(trx: Db): Promise<number> {
    const row = await sql<{
      value: number;
    }>`UPDATE counters SET value = value + 1 WHERE name = 'rule_version' RETURNING value`.execute(
      trx,
    );
    return Number(row.rows[0]!.value);
  }

  async currentVersion(): Promise<number> {
    const row = await this.db
      .selectFrom('counters')
      .select('value')
      .where('name', '=', 'rule_version')
      .executeTakeFirstOrThrow();
    return Number(row.value);
  }

  /** Puts a rule (replacing one for the same target and scope). */
  async put(rule: NewRule, now = Date.now(), by?: RuleChangeBy): Promise<number> {
    const id = await this.db.transaction().execute(async (trx) => {
      const version = await this.#nextVersion(trx);
      await trx
        .updateTable('rules')
        .set({ deleted: 1, version: sql`-id` })
        .where('rule_type', '=', rule.rule_type)
        .where('identifier', '=', rule.identifier)
        .where('scope', '=', rule.scope)
        .where('scope_value', rule.scope_value == null ? 'is' : '=', rule.scope_value ?? null)
        .where('deleted', '=', 0)
        .execute();
      const inserted = await trx
        .insertInto('rules')
        .values({
          custom_msg: null,
          custom_url: null,
          scope_value: null,
          expires_at: null,
          comment: null,
          ...rule,
          created_at: now,
          deleted: 0,
          version,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      if (by)
        await audit(
          trx,
          {
            actor: by.actor,
            action: 'rule.create',
            target: `rule:${inserted.id}`,
            details: {
              rule_type: rule.rule_type,
              identifier: rule.identifier,
              policy: rule.policy,
              scope: rule.scope,
              scope_value: rule.scope_value ?? null,
              expires_at: rule.expires_at ?? null,
              ...by.details,
            },
          },
          now,
        );
      return inserted.id;
    });
    await this.push?.publish({
      kind: 'rules-changed',
      target: ruleTarget(rule.scope, rule.scope_value ?? null),
    });
    return id;
  }

  /**
   * Deletes a rule: machines that had it get a REMOVE at their next sync. Removed from the
   * console (`by`), it is audited with it and the machines it reached are told at once.
   */
  async remove(id: number, by?: RuleChangeBy, now = Date.now()): Promise<boolean> {
    const removed = await this.db.transaction().execute(async (trx) => {
      const version = await this.#nextVersion(trx);
      const row = await trx
        .updateTable('rules')
        .set({ deleted: 1, version })
        .where('id', '=', id)
        .where('deleted', '=', 0)
        .returning(['rule_type', 'identifier', 'policy', 'scope', 'scope_value'])
        .executeTakeFirst();
      if (row && by)
        await audit(
          trx,
          {
            actor: by.actor,
            action: 'rule.remove',
            target: `rule:${id}`,
            details: { ...row, ...by.details },
          },
          now,
        );
      return row;
    });
    if (removed && by)
      await this.push?.publish({
        kind: 'rules-changed',
        target: ruleTarget(removed.scope, removed.scope_value),
      });
    return removed !== undefined;
  }

  async get(id: number): Promise<RuleRow | undefined> {
    return (await this.db
      .selectFrom('rules')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst()) as RuleRow | undefined;
  }

  /** Rules in force (not removed, not expired), newest first. */
  async list(filter: RuleFilter, page: Page, now = Date.now()): Promise<PageOf<RuleRow>> {
    const base = this.db
      .selectFrom('rules')
      .where('deleted', '=', 0)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .$if(filter.scope !== undefined, (q) => q.where('scope', '=', filter.scope!))
      .$if(filter.scopeValue !== undefined, (q) => q.where('scope_value', '=', filter.scopeValue!))
      .$if(filter.ruleType !== undefined, (q) => q.where('rule_type', '=', filter.ruleType!))
      .$if(filter.policy !== undefined, (q) => q.where('policy', '=', filter.policy!))
      .$if(filter.identifier !== undefined, (q) => q.where('identifier', '=', filter.identifier!))
      .$if(Boolean(filter.text), (q) =>
        q.where((eb) =>
          eb.or(
            ['identifier', 'comment', 'custom_msg'].map((column) =>
              containsText(column, filter.text!),
            ),
          ),
        ),
      );
    const [rows, count] = await Promise.all([
      base.selectAll().orderBy('id', 'desc').limit(page.limit).offset(page.offset).execute(),
      base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { rows: rows as RuleRow[], total: Number(count.n) };
  }

  /** The rules in force that reach this machine: global, its own, its user's and its tags'. */
  async inForceFor(
    machineId: string,
    primaryUser: string | null,
    tags: readonly string[],
    now = Date.now(),
  ): Promise<RuleRow[]> {
    return (await this.db
      .selectFrom('rules')
      .selectAll()
      .where('deleted', '=', 0)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .where((eb) => reachesMachine(eb, machineId, primaryUser, tags))
      .orderBy('id', 'desc')
      .limit(1000)
      .execute()) as RuleRow[];
  }

  /** Marks expired rules deleted, with new versions, so that their removal reaches machines. */
  async expire(now = Date.now()): Promise<number> {
    const expired = await this.db
      .selectFrom('rules')
      .select('id')
      .where('deleted', '=', 0)
      .where('expires_at', '<=', now)
      .execute();
    for (const { id } of expired) await this.remove(id);
    return expired.length;
  }

  /** Rules for a machine after `sinceVersion` up to `upToVersion`, in version order, from `afterVersion`. */
  async changesFor(
    machineId: string,
    sinceVersion: number,
    upToVersion: number,
    afterVersion: number,
    limit: number,
    clean: boolean,
    primaryUser: string | null = null,
    tags: readonly string[] = [],
  ): Promise<RuleRow[]> {
    let query = this.db
      .selectFrom('rules')
      .selectAll()
      .where('version', '>', Math.max(sinceVersion, afterVersion))
      .where('version', '<=', upToVersion)
      .where((eb) => reachesMachine(eb, machineId, primaryUser, tags));
    if (clean) query = query.where('deleted', '=', 0);
    return (await query.orderBy('version').limit(limit).execute()) as RuleRow[];
  }
}

/** Whether a rule's scope takes in this machine: the one test for what is in force and what syncs. */
function reachesMachine(
  eb: ExpressionBuilder<Database, 'rules'>,
  machineId: string,
  primaryUser: string | null,
  tags: readonly string[],
) {
  return eb.or([
    eb('scope', '=', 'global'),
    eb.and([eb('scope', '=', 'machine'), eb('scope_value', '=', machineId)]),
    // A user-scoped rule reaches the machines whose primary user that is.
    ...(primaryUser
      ? [eb.and([eb('scope', '=', 'user'), eb('scope_value', '=', primaryUser)])]
      : []),
    // A tag-scoped rule reaches every machine that carries the tag.
    ...(tags.length > 0
      ? [eb.and([eb('scope', '=', 'tag'), eb('scope_value', 'in', [...tags])])]
      : []),
  ]);
}
