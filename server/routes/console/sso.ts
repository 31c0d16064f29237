// Signing in to the console through the identity provider: /console/api/sso tells the login page
// what is on, /login sends the browser to the provider, /callback checks its answer, maps the
// person's groups to a role and starts the same kind of session a password login gets.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { flowCookieOf, refusalPage, SsoRefusal } from '../../plugins/oidc';
import { SESSION_COOKIE } from '../../plugins/console-session';
import { SsoLoginQuery, SsoStatus } from '../../schemas/sso';

const HOME = '/console/';
/** Only a path inside the console: a sign-in must never send the browser elsewhere. */
export const consoleReturn = (wanted: string | undefined) =>
  wanted && /^\/console(\/[A-Za-z0-9_\-./?=&%]*)?$/.test(wanted) && !wanted.includes('//')
    ? wanted
    : HOME;

async function refused(reply: FastifyReply, error: unknown) {
  if (!(error instanceof SsoRefusal)) throw error;
  return refusalPage(reply, error.status, error.message, HOME);
}

export async function ssoRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const open = { public: true };

  app.get(
    '/console/api/sso',
    { config: open, schema: { response: { 200: SsoStatus } } },
    async () => ({
      sso: app.sso !== undefined,
      local_login: app.sso?.options.localLogin ?? 'on',
    }),
  );

  app.get(
    '/console/api/sso/login',
    { config: open, schema: { querystring: SsoLoginQuery } },
    async (request, reply) => {
      if (!app.sso) return reply.code(404).send({ error: 'single sign-on is not configured' });
      try {
        const url = await app.sso.begin('console', consoleReturn(request.query.return), reply);
        return reply.redirect(url.href, 303);
      } catch (error) {
        return refused(reply, error);
      }
    },
  );

  app.get('/console/api/sso/callback', { config: open }, async (request, reply) => {
    const sso = app.sso;
    if (!sso) return reply.code(404).send({ error: 'single sign-on is not configured' });
    try {
      const person = await sso.complete(
        'console',
        flowCookieOf(request.cookies),
        request.url,
        reply,
      );
      const role = sso.roleOf(person.claims);
      if (!role) {
        await sso.refuse('console', 'no group maps to a console role', person.subject);
        throw new SsoRefusal(
          403,
          'your account is in no group that gives access to the Gatehouse console; ask IT to add you to one',
        );
      }
      const name = sso.portalUserOf(person.claims) ?? person.subject;
      const { sessionId } = await sso.startSession('console', person, {
        username: `sso:${name}`,
        role,
      });
      void reply.setCookie(SESSION_COOKIE, sessionId, {
        httpOnly: true,
        sameSite: 'strict',
        secure: request.protocol === 'https',
        path: '/console',
        maxAge: sso.options.sessionHours * 3600,
      });
      return reply.redirect(person.returnTo, 303);
    } catch (error) {
      if (error instanceof SsoRefusal && error.status !== 403)
        await sso.refuse('console', error.message);
      return refused(reply, error);
    }
  });
}
