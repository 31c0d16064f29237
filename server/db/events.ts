// Events from machines, stored once however often they are resubmitted, and the binaries
// catalog they feed (name, path, first and last seen, blocks). What a machine says of a
// binary's origin is kept per machine (binary_reports), so that the console can say who said
// it and where machines disagree instead of showing one machine's word as fact.
import { sql, type Selectable, type Transaction } from 'kysely';
import type { Db } from './connect';
import { countUp, LimitError } from './limits';
import { countOf, rowBy, withNumbers } from './rows';
import type { BinariesTable, Database } from './schema';

export interface IncomingEvent {
  file_sha256: string;
  file_path: string;
  file_name: string;
  executing_user?: string | undefined;
  execution_time: number;
  decision: string;
  pid?: number | undefined;
  ppid?: number | undefined;
  parent_name?: string | undefined;
  logged_in_users: string[];
  current_sessions: string[];
  /** Where the binary comes from, when the agent knows: it goes to the catalog, not the event. */
  file_size?: number | undefined;
  signer?: string | undefined;
  team_id?: string | undefined;
  signing_id?: string | undefined;
  package?: string | undefined;
}

const ORIGIN_KEYS = ['signer', 'team_id', 'signing_id', 'package', 'file_size'] as const;
type Origin = { [K in (typeof ORIGIN_KEYS)[number]]: IncomingEvent[K] | null };

/** One value machines reported for a field of a binary's origin, and how many said it. */
export interface ReportedValue {
  readonly value: string;
  readonly machines: number;
}

/**
 * Who said what of a binary's origin: each machine's latest claim, counted per value, the most
 * said first (at most 5 values a field). Claims, never verified: more than one value for a field
 * means machines disagree.
 */
export type Provenance = { readonly machines: number } & {
  readonly [K in (typeof ORIGIN_KEYS)[number]]: ReportedValue[];
};

/** The binaries catalog as the console shows it: the stored row, its counts as numbers. */
export type BinaryInfo = Selectable<BinariesTable> & { provenance: Provenance };

/** The latest origin each binary was reported with in a batch. */
function originsOf(events: readonly IncomingEvent[]): Map<string, Origin> {
  const origins = new Map<string, Origin>();
  for (const event of events) {
    if (ORIGIN_KEYS.every((key) => event[key] === undefined)) continue;
    const origin = origins.get(event.file_sha256) ?? {
      signer: null,
      team_id: null,
      signing_id: null,
      package: null,
      file_size: null,
    };
    for (const key of ORIGIN_KEYS)
      if (event[key] !== undefined) (origin as Record<string, unknown>)[key] = event[key];
    origins.set(event.file_sha256, origin);
  }
  return origins;
}

/** One catalog row per binary among the newly stored events. */
function catalogOf(
  inserted: readonly {
    file_sha256: string;
    file_name: string;
    file_path: string;
    execution_time: number;
    decision: string;
  }[],
) {
  const byBinary = new Map<
    string,
    { file_name: string; file_path: string; first: number; last: number; blocks: number }
  >();
  for (const row of inserted) {
    const time = Number(row.execution_time);
    const entry = byBinary.get(row.file_sha256) ?? {
      file_name: row.file_name,
      file_path: row.file_path,
      first: time,
      last: time,
      blocks: 0,
    };
    entry.first = Math.min(entry.first, time);
    entry.last = Math.max(entry.last, time);
    if (row.decision.startsWith('BLOCK_')) entry.blocks++;
    byBinary.set(row.file_sha256, entry);
  }
  return byBinary;
}

/** Each machine's latest claim of each binary's origin (a field it leaves out keeps its word). */
async function reportOrigins(
  trx: Transaction<Database>,
  machineId: string,
  origins: Map<string, Origin>,
  now: number,
): Promise<void> {
  if (origins.size === 0) return;
  await trx
    .insertInto('binary_reports')
    .values(
      [...origins].map(([sha256, origin]) => ({
        sha256,
        machine_id: machineId,
        ...origin,
        reported_at: now,
      })),
    )
    .onConflict((conflict) =>
      conflict.columns(['sha256', 'machine_id']).doUpdateSet(() => ({
        reported_at: now,
        ...Object.fromEntries(
          ORIGIN_KEYS.map((key) => [
            key,
            sql`coalesce(excluded.${sql.ref(key)}, binary_reports.${sql.ref(key)})`,
          ]),
        ),
      })),
    )
    .execute();
}

/** Events one machine may upload in an hour (resent ones count too): a week's backlog fits. */
export const MACHINE_EVENTS_PER_HOUR = 50_000;
const HOUR_MS = 3_600_000;

export class EventRepository {
  constructor(private readonly db: Db) {}

  /** Counts a batch against its machine's hour, refusing it (429) when that goes over. */
  async #withinHourlyLimit(machineId: string, count: number, now: number): Promise<void> {
    const { current, ttl } = await countUp(this.db, `events:${machineId}`, HOUR_MS, count, now);
    if (current <= MACHINE_EVENTS_PER_HOUR) return;
    const retryAfterS = Math.max(1, Math.ceil(ttl / 1000));
    throw new LimitError(
      'machine_events',
      retryAfterS,
      `this machine has uploaded ${MACHINE_EVENTS_PER_HOUR} events in the last hour, the limit: keep them and upload again in ${Math.ceil(retryAfterS / 60)} minutes`,
    );
  }

  /** Stores a batch in one transaction; returns how many were new. */
  async ingest(
    machineId: string,
    events: readonly IncomingEvent[],
    now = Date.now(),
  ): Promise<number> {
    if (events.length === 0) return 0;
    await this.#withinHourlyLimit(machineId, events.length, now);
    return this.db.transaction().execute(async (trx) => {
      let fresh = 0;
      for (let offset = 0; offset < events.length; offset += 200) {
        // Only the rows that were new come back, so a resubmitted event changes nothing.
        const inserted = await trx
          .insertInto('events')
          .values(
            events.slice(offset, offset + 200).map((event) => ({
              machine_id: machineId,
              file_sha256: event.file_sha256,
              file_path: event.file_path,
              file_name: event.file_name,
              executing_user: event.executing_user ?? null,
              execution_time: event.execution_time,
              decision: event.decision,
              pid: event.pid ?? null,
              ppid: event.ppid ?? null,
              parent_name: event.parent_name ?? null,
              logged_in_users: JSON.stringify(event.logged_in_users),
              current_sessions: JSON.stringify(event.current_sessions),
              received_at: now,
            })),
          )
          .onConflict((conflict) => conflict.doNothing())
          .returning(['file_sha256', 'file_name', 'file_path', 'execution_time', 'decision'])
          .execute();
        fresh += inserted.length;
        const origins = originsOf(events.slice(offset, offset + 200));
        const byBinary = catalogOf(inserted);
        if (byBinary.size === 0) continue;
        await reportOrigins(trx, machineId, origins, now);
        await trx
          .insertInto('binaries')
          .values(
            [...byBinary].map(([sha256, b]) => ({
              sha256,
              file_name: b.file_name,
              file_path: b.file_path,
              first_seen: b.first,
              last_seen: b.last,
              block_count: b.blocks,
              ...(origins.get(sha256) ?? {}),
            })),
          )
          .onConflict((conflict) =>
            conflict.column('sha256').doUpdateSet((eb) => ({
              // CASE rather than max()/GREATEST(): the same SQL on SQLite and PostgreSQL.
              last_seen: sql<number>`CASE WHEN excluded.last_seen > binaries.last_seen THEN excluded.last_seen ELSE binaries.last_seen END`,
              first_seen: sql<number>`CASE WHEN excluded.first_seen < binaries.first_seen THEN excluded.first_seen ELSE binaries.first_seen END`,
              block_count: eb('binaries.block_count', '+', eb.ref('excluded.block_count')),
              // What machines say of a binary's origin is not verified: the first word stands, so
              // that no later machine can relabel a known binary (or malware as a known one).
              ...Object.fromEntries(
                ORIGIN_KEYS.map((key) => [
                  key,
                  sql`coalesce(binaries.${sql.ref(key)}, excluded.${sql.ref(key)})`,
                ]),
              ),
            })),
          )
          .execute();
      }
      return fresh;
    });
  }

  /** Distinct machines that ran or were blocked on this binary. */
  async prevalence(sha256: string): Promise<number> {
    const row = await this.db
      .selectFrom('events')
      .select((eb) => eb.fn.count<number>('machine_id').distinct().as('machines'))
      .where('file_sha256', '=', sha256)
      .executeTakeFirstOrThrow();
    return Number(row.machines);
  }

  async binary(sha256: string): Promise<BinaryInfo | undefined> {
    const row = await rowBy(this.db, 'binaries', 'sha256', sha256);
    if (!row) return undefined;
    return {
      ...withNumbers(row, 'first_seen', 'last_seen', 'block_count', 'file_size'),
      provenance: await this.provenance(sha256),
    };
  }

  /** What the machines that reported this binary's origin said, field by field. */
  async provenance(sha256: string): Promise<Provenance> {
    const reports = this.db.selectFrom('binary_reports').where('sha256', '=', sha256);
    const [machines, ...fields] = await Promise.all([
      countOf(reports),
      ...ORIGIN_KEYS.map((key) =>
        reports
          .select((eb) => [eb.ref(key).as('value'), eb.fn.countAll<number>().as('machines')])
          .where(key, 'is not', null)
          .groupBy(key)
          .orderBy('machines', 'desc')
          .limit(5)
          .execute(),
      ),
    ]);
    return {
      machines,
      ...Object.fromEntries(
        ORIGIN_KEYS.map((key, i) => [
          key,
          fields[i]!.map((row) => ({ value: String(row.value), machines: Number(row.machines) })),
        ]),
      ),
    } as Provenance;
  }

  /**
   * A machine's latest blocked executions, newest first; with 'ALLOW_TRANSITIVE', the programs its
   * compilers built that ran on their transitive rule.
   */
  async recentBlocks(
    machineId: string,
    limit = 50,
    decisions: 'BLOCK_%' | 'ALLOW_TRANSITIVE' = 'BLOCK_%',
  ) {
    const rows = await this.db
      .selectFrom('events')
      .select([
        'id',
        'file_sha256',
        'file_name',
        'file_path',
        'executing_user',
        'execution_time',
        'decision',
        'parent_name',
      ])
      .where('machine_id', '=', machineId)
      .where('decision', 'like', decisions)
      .orderBy('execution_time', 'desc')
      .limit(limit)
      .execute();
    return rows.map((row) => withNumbers(row, 'execution_time'));
  }

  async count(machineId?: string): Promise<number> {
    return countOf(
      this.db
        .selectFrom('events')
        .$if(Boolean(machineId), (query) => query.where('machine_id', '=', machineId!)),
    );
  }
}
