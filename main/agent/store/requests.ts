// Approval requests written by users: stored at once, shown as queued until the sync client has
// delivered them to the backend. Nothing is lost if the backend is down.
import type { Db } from './database';

export type RequestState = 'queued' | 'pending' | 'approved' | 'denied' | 'needs-info';

export interface StoredRequest {
  readonly id: number;
  readonly eventId: number;
  readonly uid: number;
  readonly justification: string;
  readonly state: RequestState;
  readonly createdAt: number;
}

export const JUSTIFICATION_LIMITS = { min: 10, max: 2000 } as const;

export class RequestStore {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  create(
    eventId: number,
    uid: number,
    justification: string,
    now = Date.now() / 1000,
  ): StoredRequest {
    const id = Number(
      this.#db
        .prepare(
          'INSERT INTO requests (event_id, uid, justification, created_at, updated_at) VALUES (?, ?, ?, ?, ?)',
        )
        .run(eventId, uid, justification, now, now).lastInsertRowid,
    );
    return { id, eventId, uid, justification, state: 'queued', createdAt: now };
  }

  list(uid: number | undefined, limit = 100): StoredRequest[] {
    const rows = (
      uid === undefined
        ? this.#db.prepare('SELECT * FROM requests ORDER BY id DESC LIMIT ?').all(limit)
        : this.#db
            .prepare('SELECT * FROM requests WHERE uid = ? ORDER BY id DESC LIMIT ?')
            .all(uid, limit)
    ) as Record<string, unknown>[];
    return rows.map((row) => ({
      id: row.id as number,
      eventId: row.event_id as number,
      uid: row.uid as number,
      justification: row.justification as string,
      state: row.state as RequestState,
      createdAt: row.created_at as number,
    }));
  }
}
