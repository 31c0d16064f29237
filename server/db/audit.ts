// The audit log: every change (request, rule, decision, enrollment) appended in the same
// transaction as the change itself. Nothing in the backend updates or deletes a row of it.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema';
import { containsText } from './search';

export async function audit(
  db: Kysely<Database> | Transaction<Database>,
  entry: { actor: string; action: string; target: string; details?: Record<string, unknown> },
  now = Date.now(),
): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      at: now,
      actor: entry.actor,
      action: entry.action,
      target: entry.target,
      details: JSON.stringify(entry.details ?? {}),
    })
    .execute();
}

/** What the audit log can be narrowed to. Times are milliseconds since the epoch. */
export interface AuditFilter {
  /** Part of who did it (a console user, `machine:ID`, `login:NAME`). */
  readonly actor?: string;
  /** The action exactly (`rule.create`), or a family of them (`rule`, `request`). */
  readonly action?: string;
  /** Part of what it was done to (`request:12`, `rule:3`, `user:grace`). */
  readonly target?: string;
  /**
   * Everything about one machine: done by it, to it, to its requests, its machine rules or its
   * settings profile.
   */
  readonly machine?: string;
  readonly from?: number;
  readonly to?: number;
  /** Entries older than this id: the next page. */
  readonly before?: number;
}

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  action: string;
  target: string;
  details: Record<string, unknown>;
}

/** Newest first, `limit` at a time; `next` is the cursor for the page after, if there is one. */
export async function listAudit(
  db: Kysely<Database>,
  filter: AuditFilter,
  limit: number,
): Promise<{ entries: AuditEntry[]; next: number | null }> {
  let query = db.selectFrom('audit_log').selectAll();
  if (filter.actor) query = query.where(containsText('actor', filter.actor));
  if (filter.action)
    query = query.where((eb) =>
      eb.or([eb('action', '=', filter.action!), eb('action', 'like', `${filter.action!}.%`)]),
    );
  if (filter.target) query = query.where(containsText('target', filter.target));
  if (filter.machine) {
    const machine = filter.machine;
    query = query.where((eb) =>
      eb.or([
        eb('actor', '=', `machine:${machine}`),
        eb('target', '=', `machine:${machine}`),
        // Its own settings profile (db/settings.ts names it settings:machine:ID).
        eb('target', '=', `settings:machine:${machine}`),
        eb(
          'target',
          'in',
          eb
            .selectFrom('approval_requests')
            .select(sql<string>`'request:' || id`.as('t'))
            .where('machine_id', '=', machine),
        ),
        eb(
          'target',
          'in',
          eb
            .selectFrom('rules')
            .select(sql<string>`'rule:' || id`.as('t'))
            .where('scope', '=', 'machine')
            .where('scope_value', '=', machine),
        ),
      ]),
    );
  }
  if (filter.from !== undefined) query = query.where('at', '>=', filter.from);
  if (filter.to !== undefined) query = query.where('at', '<=', filter.to);
  if (filter.before !== undefined) query = query.where('id', '<', filter.before);
  const rows = await query
    .orderBy('id', 'desc')
    .limit(limit + 1)
    .execute();
  const entries = rows.slice(0, limit).map((row) => ({
    id: Number(row.id),
    at: Number(row.at),
    actor: row.actor,
    action: row.action,
    target: row.target,
    details: JSON.parse(row.details) as Record<string, unknown>,
  }));
  return {
    entries,
    next: rows.length > limit ? entries[entries.length - 1]!.id : null,
  };
}
