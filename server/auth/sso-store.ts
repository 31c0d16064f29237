// Sign-ins in progress and the sessions they end in, kept in the database so that any server
// process can finish a sign-in another one began. Only hashes of the browser's ids are stored.
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../db/connect';
import type { Role } from '../db/users';
import type { SsoApp } from './sso-config';

/** Sign-ins may be started by anyone: at most this many wait at once, each for FLOW_MINUTES. */
export const MAX_PENDING_FLOWS = 10_000;
export const FLOW_MINUTES = 10;

export interface PendingFlow {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  readonly returnTo: string;
}

export interface SsoSession {
  readonly app: SsoApp;
  readonly issuer: string;
  readonly subject: string;
  readonly username: string;
  readonly role: Role | null;
  readonly csrfToken: string;
  readonly expiresAt: number;
}

const hashId = (id: string) => createHash('sha256').update(id).digest('hex');
const newId = () => randomBytes(32).toString('base64url');

export class SsoStore {
  constructor(private readonly db: Db) {}

  /** Keeps a new flow; undefined when too many are pending (someone floods the sign-in). */
  async addFlow(app: SsoApp, flow: PendingFlow, now = Date.now()): Promise<string | undefined> {
    await this.db.deleteFrom('sso_flows').where('expires_at', '<=', now).execute();
    const pending = await this.db
      .selectFrom('sso_flows')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    if (Number(pending.n) >= MAX_PENDING_FLOWS) return undefined;
    const id = newId();
    await this.db
      .insertInto('sso_flows')
      .values({
        id_hash: hashId(id),
        app,
        state: flow.state,
        nonce: flow.nonce,
        code_verifier: flow.codeVerifier,
        return_to: flow.returnTo,
        expires_at: now + FLOW_MINUTES * 60_000,
      })
      .execute();
    return id;
  }

  /** The flow, removed so that a callback can be used once only; undefined when unknown or old. */
  async takeFlow(app: SsoApp, id: string, now = Date.now()): Promise<PendingFlow | undefined> {
    const row = await this.db
      .deleteFrom('sso_flows')
      .where('id_hash', '=', hashId(id))
      .where('app', '=', app)
      .returningAll()
      .executeTakeFirst();
    if (!row || Number(row.expires_at) <= now) return undefined;
    return {
      state: row.state,
      nonce: row.nonce,
      codeVerifier: row.code_verifier,
      returnTo: row.return_to,
    };
  }

  async createSession(
    session: Omit<SsoSession, 'csrfToken' | 'expiresAt'>,
    hours: number,
    now = Date.now(),
  ): Promise<{ sessionId: string; session: SsoSession }> {
    await this.db.deleteFrom('sso_sessions').where('expires_at', '<=', now).execute();
    const sessionId = newId();
    const full: SsoSession = {
      ...session,
      csrfToken: randomBytes(24).toString('base64url'),
      expiresAt: now + hours * 3600_000,
    };
    await this.db
      .insertInto('sso_sessions')
      .values({
        id_hash: hashId(sessionId),
        app: full.app,
        issuer: full.issuer,
        subject: full.subject,
        username: full.username,
        role: full.role,
        csrf_token: full.csrfToken,
        created_at: now,
        expires_at: full.expiresAt,
      })
      .execute();
    return { sessionId, session: full };
  }

  async session(app: SsoApp, sessionId: string, now = Date.now()): Promise<SsoSession | undefined> {
    const row = await this.db
      .selectFrom('sso_sessions')
      .selectAll()
      .where('id_hash', '=', hashId(sessionId))
      .where('app', '=', app)
      .executeTakeFirst();
    if (!row || Number(row.expires_at) <= now) return undefined;
    return {
      app,
      issuer: row.issuer,
      subject: row.subject,
      username: row.username,
      role: row.role as Role | null,
      csrfToken: row.csrf_token,
      expiresAt: Number(row.expires_at),
    };
  }

  /** Ends the session; what it was, or undefined when there was none of this app. */
  async logout(
    app: SsoApp,
    sessionId: string,
  ): Promise<{ issuer: string; subject: string; username: string } | undefined> {
    return this.db
      .deleteFrom('sso_sessions')
      .where('id_hash', '=', hashId(sessionId))
      .where('app', '=', app)
      .returning(['issuer', 'subject', 'username'])
      .executeTakeFirst();
  }
}
