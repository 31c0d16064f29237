// Rules with scopes and expiry. Every change takes the next version from one sequence, so that a
// machine gets exactly what changed since the version it last acknowledged.
import { sql } from 'kysely';
import { ruleTarget, type PushHub } from '../push';
import type { Db } from './connect';
import type { RulesTable } from './schema';

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
  async put(rule: NewRule, now = Date.now()): Promise<number> {
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
      return inserted.id;
    });
    await this.push?.publish({
      kind: 'rules-changed',
      target: ruleTarget(rule.scope, rule.scope_value ?? null),
    });
    return id;
  }

  /** Deletes a rule: machines that had it get a REMOVE at their next sync. */
  async remove(id: number): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const version = await this.#nextVersion(trx);
      const result = await trx
        .updateTable('rules')
        .set({ deleted: 1, version })
        .where('id', '=', id)
        .where('deleted', '=', 0)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    });
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
      .where((eb) =>
        eb.or([
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
        ]),
      );
    if (clean) query = query.where('deleted', '=', 0);
    return (await query.orderBy('version').limit(limit).execute()) as RuleRow[];
  }
}
