// The two routes of a sign-in through the identity provider, the same for the console and the
// portal: /{app}/api/sso/login sends the browser to the provider, /{app}/api/sso/callback checks
// its answer (plugins/oidc.ts), asks the app who the person is to it, and starts a session under
// the app's cookie. A refusal is a short page that says why, and is audited.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Role } from '../db/users';
import {
  flowCookieOf,
  refusalPage,
  SsoRefusal,
  type SignedIn,
  type SingleSignOn,
} from '../plugins/oidc';
import { SsoLoginQuery } from '../schemas/sso';
import type { SsoApp } from './sso-config';

const NOT_CONFIGURED =
  'single sign-on is not configured on this server: ask IT (GATEHOUSE_OIDC_ISSUER is not set)';

export interface SignInRoutes {
  readonly app: SsoApp;
  readonly cookie: string;
  /** The session cookie's path, and where a refusal page links back to. */
  readonly home: string;
  /** Whether `wanted` is a page of this app the browser may be sent back to. */
  readonly returnable: RegExp;
  /** Who the person is to this app; throws an SsoRefusal (403) when nobody. */
  readonly identify: (
    sso: SingleSignOn,
    person: SignedIn,
  ) => Promise<{ username: string; role: Role | null }>;
}

export function signInRoutes(fastify: FastifyInstance, routes: SignInRoutes): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const open = { public: true };
  const returnTo = (wanted: string | undefined) =>
    wanted && routes.returnable.test(wanted) && !wanted.includes('//') ? wanted : routes.home;
  const refused = (reply: FastifyReply, error: unknown) => {
    if (!(error instanceof SsoRefusal)) throw error;
    return refusalPage(reply, error.status, error.message, routes.home);
  };

  app.get(
    `/${routes.app}/api/sso/login`,
    { config: open, schema: { querystring: SsoLoginQuery } },
    async (request, reply) => {
      if (!app.sso) return refusalPage(reply, 404, NOT_CONFIGURED, routes.home);
      try {
        const url = await app.sso.begin(routes.app, returnTo(request.query.return), reply);
        return reply.redirect(url.href, 303);
      } catch (error) {
        return refused(reply, error);
      }
    },
  );

  app.get(`/${routes.app}/api/sso/callback`, { config: open }, async (request, reply) => {
    const sso = app.sso;
    if (!sso) return refusalPage(reply, 404, NOT_CONFIGURED, routes.home);
    let subject: string | undefined;
    try {
      const person = await sso.complete(
        routes.app,
        flowCookieOf(request.cookies),
        request.url,
        reply,
      );
      subject = person.subject;
      const { sessionId } = await sso.startSession(
        routes.app,
        person,
        await routes.identify(sso, person),
      );
      void reply.setCookie(routes.cookie, sessionId, {
        httpOnly: true,
        sameSite: 'strict',
        secure: request.protocol === 'https',
        path: routes.home.replace(/\/$/, ''),
        maxAge: sso.options.sessionHours * 3600,
      });
      return reply.redirect(person.returnTo, 303);
    } catch (error) {
      if (error instanceof SsoRefusal) await sso.refuse(routes.app, error.message, subject);
      return refused(reply, error);
    }
  });
}
