// The one check for console callers: the session cookie (HttpOnly, SameSite=Strict), the
// session's CSRF token on anything but a read, and the role the route declares in its config
// (`config: { role: 'helpdesk' }`; viewer when it declares none; `public: true` for the login).
// routes/console/index.ts adds it to every route under /console/api.
import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Role, SessionUser } from '../db/users';
import type { SingleSignOn } from './oidc';

export const SESSION_COOKIE = 'gh_session';
const RANK: Record<Role, number> = { viewer: 0, helpdesk: 1, admin: 2 };

declare module 'fastify' {
  interface FastifyRequest {
    consoleUser?: SessionUser;
  }
  interface FastifyContextConfig {
    /** The least role a console route needs (default viewer). */
    role?: Role;
    /** A console route anyone may call: the login. */
    public?: boolean;
  }
}

export async function authenticateConsole(
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const config = request.routeOptions.config;
  if (config.public) return;
  const sessionId = request.cookies?.[SESSION_COOKIE];
  const user = sessionId ? await sessionUser(request, sessionId) : undefined;
  if (!user) return void (await reply.code(401).send({ error: 'log in first' }));
  if (request.method !== 'GET' && request.headers['x-csrf-token'] !== user.csrfToken)
    return void (await reply
      .code(403)
      .send({ error: 'missing or wrong CSRF token: reload the console' }));
  const role = config.role ?? 'viewer';
  if (RANK[user.role] < RANK[role])
    return void (await reply
      .code(403)
      .send({ error: `this needs the ${role} role; you are ${user.role}` }));
  request.consoleUser = user;
}

/**
 * A local account's session (while the configuration lets local accounts in: with single sign-on
 * on, only break-glass admins, if any), else a single sign-on session (plugins/oidc.ts).
 */
async function sessionUser(
  request: FastifyRequest,
  sessionId: string,
): Promise<SessionUser | undefined> {
  const local = await request.server.repos.users.session(sessionId);
  if (local) return localLoginAllowed(request.server.sso, local.role) ? local : undefined;
  const sso = await request.server.sso?.store.session('console', sessionId);
  return sso?.role
    ? { id: 0, username: sso.username, role: sso.role, csrfToken: sso.csrfToken }
    : undefined;
}

/** Whether a local account with this role may use the console under the current configuration. */
export function localLoginAllowed(sso: SingleSignOn | undefined, role: Role): boolean {
  const policy = sso?.options.localLogin ?? 'on';
  return policy === 'on' || (policy === 'break-glass' && role === 'admin');
}

/** Who is calling; only called on routes behind authenticateConsole. */
export function consoleUserOf(request: FastifyRequest): SessionUser {
  if (!request.consoleUser) throw new Error('a console route ran without authenticateConsole');
  return request.consoleUser;
}
