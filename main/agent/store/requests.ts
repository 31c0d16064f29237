// Approval requests written by users: stored at once, shown as queued until the sync client has
// delivered them to the backend. Nothing is lost if the backend is down.
import type { RequestRecord } from '../../../common/control';
import type { RequestMessage, RequestState } from '../../../common/ipc';
export { JUSTIFICATION_LIMITS } from '../../../common/ipc';
import type { Db } from './database';

export type { RequestMessage, RequestState };

/** What the store gives back: the control contract's record (common/control.ts). */
export type StoredRequest = RequestRecord;

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
    return {
      id,
      eventId,
      uid,
      justification,
      state: 'queued',
      serverId: null,
      messages: [],
      createdAt: now,
    };
  }

  /** The request a user already made for an event (the first, should there be more). */
  forEvent(eventId: number, uid: number): StoredRequest | undefined {
    const row = this.#db
      .prepare('SELECT * FROM requests WHERE event_id = ? AND uid = ? ORDER BY id LIMIT 1')
      .get(eventId, uid) as Record<string, unknown> | undefined;
    return row ? toRequest(row) : undefined;
  }

  get(id: number): StoredRequest | undefined {
    const row = this.#db.prepare('SELECT * FROM requests WHERE id = ?').get(id) as
      Record<string, unknown> | undefined;
    return row ? toRequest(row) : undefined;
  }

  /** Written by users, not yet delivered to the backend. */
  queued(): StoredRequest[] {
    return (
      this.#db.prepare("SELECT * FROM requests WHERE state = 'queued' ORDER BY id").all() as Record<
        string,
        unknown
      >[]
    ).map(toRequest);
  }

  /** Delivered, and not yet decided for good. */
  open(): StoredRequest[] {
    return (
      this.#db
        .prepare("SELECT * FROM requests WHERE state IN ('pending', 'needs-info') ORDER BY id")
        .all() as Record<string, unknown>[]
    ).map(toRequest);
  }

  /** What the backend says of a request; returns the request when anything changed. */
  update(
    id: number,
    changes: { serverId?: string; state: RequestState; messages: RequestMessage[] },
    now = Date.now() / 1000,
  ): StoredRequest | undefined {
    const before = this.get(id);
    if (!before) return undefined;
    const messages = JSON.stringify(changes.messages);
    if (
      before.state === changes.state &&
      JSON.stringify(before.messages) === messages &&
      (changes.serverId ?? before.serverId) === before.serverId
    )
      return undefined;
    this.#db
      .prepare(
        'UPDATE requests SET state = ?, messages = ?, server_id = coalesce(?, server_id), updated_at = ? WHERE id = ?',
      )
      .run(changes.state, messages, changes.serverId ?? null, now, id);
    return this.get(id);
  }

  list(uid: number | undefined, limit = 100): StoredRequest[] {
    const rows = (
      uid === undefined
        ? this.#db.prepare('SELECT * FROM requests ORDER BY id DESC LIMIT ?').all(limit)
        : this.#db
            .prepare('SELECT * FROM requests WHERE uid = ? ORDER BY id DESC LIMIT ?')
            .all(uid, limit)
    ) as Record<string, unknown>[];
    return rows.map(toRequest);
  }
}

function toRequest(row: Record<string, unknown>): StoredRequest {
  return {
    id: row.id as number,
    eventId: row.event_id as number,
    uid: row.uid as number,
    justification: row.justification as string,
    state: row.state as RequestState,
    serverId: (row.server_id as string | null) ?? null,
    messages: JSON.parse((row.messages as string | undefined) ?? '[]') as RequestMessage[],
    createdAt: row.created_at as number,
  };
}
