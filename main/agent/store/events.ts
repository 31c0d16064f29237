// The event store: what was executed and decided, kept until uploaded. Bounded: when full, the
// oldest allow events go first, and the loss is counted.
import { basename, dirname } from 'node:path';
import type { Decision } from '../../../common/rules';
import type { EventRecord } from '../../../common/control';
import type { DecisionReason } from '../../../common/policy';
import type { Db } from './database';

export interface ExecEvent {
  /** '' when the file was never hashed (see reason). */
  readonly sha256: string;
  readonly path: string;
  readonly uid: number;
  readonly user?: string;
  readonly pid: number;
  readonly ppid: number;
  readonly parentName?: string;
  readonly decision: Decision;
  readonly size?: number;
  readonly package?: string;
  readonly reason?: DecisionReason;
  /** ALLOW_TRANSITIVE: the compiler that wrote the file. */
  readonly builtBy?: string;
  readonly loggedInUsers?: readonly string[];
  readonly currentSessions?: readonly string[];
  /** Seconds since the epoch (Santa's execution_time). */
  readonly time?: number;
}

/** What the store gives back: the control contract's record (common/control.ts). */
export type StoredEvent = EventRecord;

/** Identical blocks (same file, user and decision) within this window are one event with a count. */
export const DEDUPE_WINDOW_S = 600;

export class EventStore {
  readonly #db: Db;
  readonly #limit: number;

  constructor(db: Db, limit = 100_000) {
    this.#db = db;
    this.#limit = limit;
  }

  /** Stores an event, or counts it on the identical block seen within the last 10 minutes. */
  record(event: ExecEvent): { id: number; merged: boolean } {
    const time = event.time ?? Date.now() / 1000;
    return this.#db.transaction(() => {
      if (event.decision.startsWith('BLOCK_')) {
        const same = this.#db
          .prepare(
            `SELECT id FROM events WHERE file_sha256 = ? AND uid = ? AND decision = ? AND file_path = ? AND file_name = ?
               AND last_seen >= ? AND uploaded = 0 ORDER BY id DESC LIMIT 1`,
          )
          .get(
            event.sha256,
            event.uid,
            event.decision,
            dirname(event.path),
            basename(event.path),
            time - DEDUPE_WINDOW_S,
          ) as { id: number } | undefined;
        if (same) {
          this.#db
            .prepare('UPDATE events SET occurrences = occurrences + 1, last_seen = ? WHERE id = ?')
            .run(time, same.id);
          return { id: same.id, merged: true };
        }
      }
      const id = Number(
        this.#db
          .prepare(
            `INSERT INTO events (file_sha256, file_path, file_name, executing_user, uid, execution_time, last_seen, pid, ppid,
               parent_name, decision, logged_in_users, current_sessions, file_size, package, reason, built_by)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            event.sha256,
            dirname(event.path),
            basename(event.path),
            event.user ?? null,
            event.uid,
            time,
            time,
            event.pid,
            event.ppid,
            event.parentName ?? null,
            event.decision,
            JSON.stringify(event.loggedInUsers ?? []),
            JSON.stringify(event.currentSessions ?? []),
            event.size ?? null,
            event.package ?? null,
            event.reason ?? null,
            event.builtBy ?? null,
          ).lastInsertRowid,
      );
      this.#enforceLimit();
      return { id, merged: false };
    })();
  }

  get(id: number): StoredEvent | undefined {
    const row = this.#db.prepare('SELECT * FROM events WHERE id = ?').get(id) as
      Record<string, unknown> | undefined;
    return row ? toEvent(row) : undefined;
  }

  /** Newest first; only the given user's unless uid is undefined (root). */
  list(options: { uid?: number; limit?: number } = {}): StoredEvent[] {
    const limit = Math.min(Math.max(options.limit ?? 50, 1), 1000);
    const rows =
      options.uid === undefined
        ? this.#db.prepare('SELECT * FROM events ORDER BY id DESC LIMIT ?').all(limit)
        : this.#db
            .prepare('SELECT * FROM events WHERE uid = ? ORDER BY id DESC LIMIT ?')
            .all(options.uid, limit);
    return (rows as Record<string, unknown>[]).map(toEvent);
  }

  // An event without a hash stays on the machine: Santa's protocol has no event without one.
  pendingUpload(limit = 500): StoredEvent[] {
    return (
      this.#db
        .prepare(
          "SELECT * FROM events WHERE uploaded = 0 AND file_sha256 != '' ORDER BY id LIMIT ?",
        )
        .all(limit) as Record<string, unknown>[]
    ).map(toEvent);
  }

  /** The users who were blocked on this file (its SHA-256), at most a few hundred. */
  blockedUids(sha256: string): number[] {
    return (
      this.#db
        .prepare(
          "SELECT DISTINCT uid FROM events WHERE file_sha256 = ? AND decision LIKE 'BLOCK\\_%' ESCAPE '\\' LIMIT 256",
        )
        .all(sha256.toLowerCase()) as { uid: number }[]
    ).map((row) => row.uid);
  }

  countPendingUpload(): number {
    return (
      this.#db
        .prepare("SELECT count(*) AS n FROM events WHERE uploaded = 0 AND file_sha256 != ''")
        .get() as { n: number }
    ).n;
  }

  /**
   * After the server has accepted them (HTTP 200). Allow events are deleted; blocks are kept,
   * marked uploaded, because the user may still ask for approval of one (the block dialog holds
   * its id); the store's limit retires them later, uploaded ones first.
   */
  markUploaded(ids: readonly number[]): void {
    const mark = this.#db.prepare('UPDATE events SET uploaded = 1 WHERE id = ?');
    const drop = this.#db.prepare(
      "DELETE FROM events WHERE id = ? AND decision NOT LIKE 'BLOCK_%' AND id NOT IN (SELECT event_id FROM requests)",
    );
    this.#db.transaction(() => {
      for (const id of ids) {
        mark.run(id);
        drop.run(id);
      }
    })();
  }

  /** Events the store had to drop because it was full. */
  dropped(): number {
    const row = this.#db
      .prepare("SELECT value FROM counters WHERE name = 'events_dropped'")
      .get() as { value: number } | undefined;
    return row?.value ?? 0;
  }

  #enforceLimit(): void {
    const { n } = this.#db.prepare('SELECT count(*) AS n FROM events').get() as { n: number };
    const excess = n - this.#limit;
    if (excess <= 0) return;
    // Uploaded events go first, then allows (oldest first), blocks only when nothing else is
    // left; events with an approval request are kept.
    const victims = this.#db
      .prepare(
        `SELECT id FROM events WHERE id NOT IN (SELECT event_id FROM requests)
         ORDER BY uploaded DESC, (decision LIKE 'ALLOW_%') DESC, id ASC LIMIT ?`,
      )
      .all(excess) as { id: number }[];
    const remove = this.#db.prepare('DELETE FROM events WHERE id = ?');
    for (const victim of victims) remove.run(victim.id);
    this.#db
      .prepare(
        "INSERT INTO counters (name, value) VALUES ('events_dropped', ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
      )
      .run(victims.length);
  }
}

function toEvent(row: Record<string, unknown>): StoredEvent {
  return {
    id: row.id as number,
    fileSha256: row.file_sha256 as string,
    filePath: row.file_path as string,
    fileName: row.file_name as string,
    executingUser: (row.executing_user as string | null) ?? null,
    uid: row.uid as number,
    executionTime: row.execution_time as number,
    lastSeen: row.last_seen as number,
    occurrences: row.occurrences as number,
    pid: (row.pid as number | null) ?? null,
    ppid: (row.ppid as number | null) ?? null,
    parentName: (row.parent_name as string | null) ?? null,
    decision: row.decision as Decision,
    loggedInUsers: JSON.parse(row.logged_in_users as string) as string[],
    currentSessions: JSON.parse(row.current_sessions as string) as string[],
    fileSize: (row.file_size as number | null) ?? null,
    package: (row.package as string | null) ?? null,
    reason: (row.reason as DecisionReason | null) ?? null,
    builtBy: (row.built_by as string | null) ?? null,
    uploaded: row.uploaded === 1,
  };
}
