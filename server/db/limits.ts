// Counts for the limits that refuse callers (console logins, a machine's events), in the
// database so that every server process on one PostgreSQL shares them: one row per key, each
// attempt counted with one atomic upsert, the window started again once it has passed, and
// rows whose window has passed deleted by `pruneCounts`. And the error a limit throws: a 429
// with the seconds to wait, which plugins/metrics.ts turns into Retry-After and counts.
import { sql } from 'kysely';
import type { Db } from './connect';

/** Each limit that can refuse a caller with a 429, as the `limit` label of its counter. */
export type LimitName =
  | 'push_streams'
  | 'login_pair'
  | 'login_address'
  | 'login_account'
  | 'machine_requests'
  | 'machine_events'
  | 'enroll_address'
  | 'enroll_all'
  | 'machines';

/** A 429 (plugins/errors.ts answers with its statusCode and message). */
export class LimitError extends Error {
  readonly statusCode = 429;
  constructor(
    readonly limit: LimitName,
    readonly retryAfterS: number,
    message: string,
  ) {
    super(message);
  }
}

/** Adds `amount` under `key`; the window starts again once `windowMs` has passed. */
export async function countUp(
  db: Db,
  key: string,
  windowMs: number,
  amount = 1,
  now = Date.now(),
): Promise<{ current: number; ttl: number }> {
  const expired = sql<boolean>`limit_counts.window_start <= ${now - windowMs}`;
  const row = await db
    .insertInto('limit_counts')
    .values({ key, count: amount, window_start: now })
    .onConflict((conflict) =>
      conflict.column('key').doUpdateSet({
        // CASE: the same SQL on SQLite and PostgreSQL.
        count: sql<number>`CASE WHEN ${expired} THEN ${amount} ELSE limit_counts.count + ${amount} END`,
        window_start: sql<number>`CASE WHEN ${expired} THEN ${now} ELSE limit_counts.window_start END`,
      }),
    )
    .returning(['count', 'window_start'])
    .executeTakeFirstOrThrow();
  return { current: Number(row.count), ttl: windowMs - (now - Number(row.window_start)) };
}

/** Takes one back (or, with `all`, the whole count) from `key`. */
export async function countDown(db: Db, key: string, all: boolean): Promise<void> {
  if (all) await db.deleteFrom('limit_counts').where('key', '=', key).execute();
  else
    await db
      .updateTable('limit_counts')
      .set({ count: sql`count - 1` })
      .where('key', '=', key)
      .where('count', '>', 0)
      .execute();
}

/** The longest window any limit counts over (a machine's events: an hour). */
export const LONGEST_WINDOW_MS = 3_600_000;

/** Deletes the counts whose window has passed, whichever limit they belong to. */
export async function pruneCounts(db: Db, now = Date.now()) {
  await db
    .deleteFrom('limit_counts')
    .where('window_start', '<=', now - LONGEST_WINDOW_MS)
    .execute();
}
