// The one check for portal callers: a session from single sign-on (gh_portal cookie, HttpOnly,
// SameSite=Strict, path /portal), and its CSRF token on anything but a read. Routes marked
// `config: { public: true }` (the sign-in) need neither.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SsoSession } from '../../auth/sso-store';

export const PORTAL_COOKIE = 'gh_portal';

declare module 'fastify' {
  interface FastifyRequest {
    portalPerson?: SsoSession;
  }
}

export async function authenticatePortal(
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  if (request.routeOptions.config.public) return;
  const sessionId = request.cookies?.[PORTAL_COOKIE];
  const person = sessionId
    ? await request.server.sso?.store.session('portal', sessionId)
    : undefined;
  if (!person) return void (await reply.code(401).send({ error: 'sign in first' }));
  if (request.method !== 'GET' && request.headers['x-csrf-token'] !== person.csrfToken)
    return void (await reply
      .code(403)
      .send({ error: 'missing or wrong CSRF token: reload the page' }));
  request.portalPerson = person;
}

/** Who is calling; only on routes behind authenticatePortal. */
export function personOf(request: FastifyRequest): SsoSession {
  if (!request.portalPerson) throw new Error('a portal route ran without authenticatePortal');
  return request.portalPerson;
}
