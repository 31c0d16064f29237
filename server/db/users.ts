// Helpdesk accounts (argon2id) and their sessions (kept in the database, so any server process
// can serve a logged-in user; only a hash of the session id is stored).
import { createHash, randomBytes } from 'node:crypto';
import argon2 from 'argon2';
import { audit } from './audit';
import type { Db } from './connect';
import { countOf } from './rows';

export type Role = 'viewer' | 'helpdesk' | 'admin';
export const ROLES: readonly Role[] = ['viewer', 'helpdesk', 'admin'];
export const SESSION_HOURS = 12;

export interface SessionUser {
  readonly id: number;
  readonly username: string;
  readonly role: Role;
  readonly csrfToken: string;
}

const hashId = (id: string) => createHash('sha256').update(id).digest('hex');

export class UserRepository {
  constructor(private readonly db: Db) {}

  async count(): Promise<number> {
    return countOf(this.db.selectFrom('users'));
  }

  async create(
    username: string,
    password: string,
    role: Role,
    actor: string,
    now = Date.now(),
  ): Promise<number> {
    if (!/^[a-z0-9._-]{1,64}$/i.test(username))
      throw new Error('users: a username is 1 to 64 letters, digits, dots, dashes or underscores');
    if (password.length < 12) throw new Error('users: a password needs at least 12 characters');
    const password_hash = await argon2.hash(password, { type: argon2.argon2id });
    return this.db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto('users')
        .values({ username, password_hash, role, created_at: now })
        .returning('id')
        .executeTakeFirstOrThrow();
      await audit(
        trx,
        { actor, action: 'user.create', target: `user:${username}`, details: { role } },
        now,
      );
      return row.id;
    });
  }

  /** A new session for good credentials; undefined otherwise (the same for a wrong user or password). */
  async login(
    username: string,
    password: string,
    now = Date.now(),
  ): Promise<{ sessionId: string; user: SessionUser } | undefined> {
    const user = await this.db
      .selectFrom('users')
      .selectAll()
      .where('username', '=', username)
      .executeTakeFirst();
    // Verify against a dummy hash for unknown users, so that timing does not tell who exists.
    const ok = await argon2.verify(user?.password_hash ?? DUMMY_HASH, password).catch(() => false);
    if (!user || !ok) {
      await audit(
        this.db,
        { actor: `login:${username.slice(0, 64)}`, action: 'login.failed', target: 'console' },
        now,
      );
      return undefined;
    }
    const sessionId = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(24).toString('base64url');
    await this.db
      .insertInto('sessions')
      .values({
        id_hash: hashId(sessionId),
        user_id: user.id,
        csrf_token: csrfToken,
        created_at: now,
        expires_at: now + SESSION_HOURS * 3600_000,
      })
      .execute();
    await audit(this.db, { actor: user.username, action: 'login', target: 'console' }, now);
    return {
      sessionId,
      user: { id: user.id, username: user.username, role: user.role as Role, csrfToken },
    };
  }

  async session(sessionId: string, now = Date.now()): Promise<SessionUser | undefined> {
    const row = await this.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select([
        'users.id',
        'users.username',
        'users.role',
        'sessions.csrf_token',
        'sessions.expires_at',
      ])
      .where('sessions.id_hash', '=', hashId(sessionId))
      .executeTakeFirst();
    if (!row || Number(row.expires_at) <= now) return undefined;
    return {
      id: row.id,
      username: row.username,
      role: row.role as Role,
      csrfToken: row.csrf_token,
    };
  }

  async logout(sessionId: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('id_hash', '=', hashId(sessionId)).execute();
  }
}

// argon2id of a random string nobody knows.
const DUMMY_HASH =
  '$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$4L6DdQ1s8Z3Q0z1nQ8c7jQxwV8oS4p0k8nB9yZ2r6aM';
