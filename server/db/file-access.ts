// File access (FAA) events: what Santa's file access authorization denied or audited on a Mac,
// uploaded beside execution events (EventUploadRequest.file_access_events). Kept for the console
// only, the newest FILE_ACCESS_KEEP per machine, and stored once however often a batch is resent.
import type { Db } from './connect';
import { withNumbers } from './rows';
import { pageOf, type Page } from './search';

export const FILE_ACCESS_KEEP = 1000;

export interface FileAccessProcess {
  file_path: string;
  file_sha256?: string;
  signing_id?: string;
  team_id?: string;
  cdhash?: string;
  pid?: number;
}

export interface IncomingFileAccessEvent {
  rule_name: string;
  rule_version: string;
  target: string;
  decision: string;
  access_time: number;
  process_chain: FileAccessProcess[];
}

export interface FileAccessEvent extends IncomingFileAccessEvent {
  id: number;
  machine_id: string;
  received_at: number;
}

/** What makes two uploads the same event: Santa resends a batch whose answer it did not get. */
const identity = (e: {
  access_time: number;
  target: string;
  rule_name: string;
  decision: string;
}) => `${Number(e.access_time)}\u0000${e.target}\u0000${e.rule_name}\u0000${e.decision}`;

export class FileAccessRepository {
  constructor(private readonly db: Db) {}

  /** Stores the events not stored before, then drops the machine's oldest beyond the bound. */
  async ingest(
    machineId: string,
    events: readonly IncomingFileAccessEvent[],
    now = Date.now(),
  ): Promise<number> {
    if (events.length === 0) return 0;
    return this.db.transaction().execute(async (trx) => {
      const seen = await trx
        .selectFrom('file_access_events')
        .select(['access_time', 'target', 'rule_name', 'decision'])
        .where('machine_id', '=', machineId)
        .where('access_time', 'in', [...new Set(events.map((e) => e.access_time))])
        .execute();
      const known = new Set(seen.map(identity));
      const fresh = events.filter((event) => {
        const key = identity(event);
        if (known.has(key)) return false;
        known.add(key);
        return true;
      });
      if (fresh.length === 0) return 0;
      await trx
        .insertInto('file_access_events')
        .values(
          fresh.map((event) => ({
            machine_id: machineId,
            ...event,
            process_chain: JSON.stringify(event.process_chain),
            received_at: now,
          })),
        )
        .execute();
      await trx
        .deleteFrom('file_access_events')
        .where('machine_id', '=', machineId)
        .where('id', '<=', (eb) =>
          eb
            .selectFrom('file_access_events')
            .select('id')
            .where('machine_id', '=', machineId)
            .orderBy('id', 'desc')
            .offset(FILE_ACCESS_KEEP)
            .limit(1),
        )
        .execute();
      return fresh.length;
    });
  }

  /** A machine's file access events, newest first. */
  async list(machineId: string, page: Page): Promise<{ total: number; events: FileAccessEvent[] }> {
    const where = this.db.selectFrom('file_access_events').where('machine_id', '=', machineId);
    const { rows, total } = await pageOf(where, page, (q) => q.selectAll().orderBy('id', 'desc'));
    return {
      total,
      events: rows.map((row) => ({
        ...withNumbers(row, 'id', 'access_time', 'received_at'),
        process_chain: JSON.parse(row.process_chain) as FileAccessProcess[],
      })),
    };
  }
}
