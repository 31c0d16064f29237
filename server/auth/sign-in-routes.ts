// The routes of a sign-in through the identity provider, the same for the console and the
// portal: /{app}/api/sso/login sends the browser to the provider, /{app}/api/sso/callback checks
// its answer (plugins/oidc.ts), asks the app who the person is to it, and starts a session under
// the app's cookie. A refusal is a short page that says why, and is audited. /{app}/api/logout
// ends the session and tells the browser where the provider ends its own.
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
import { SignedOut, SsoLoginQuery } from '../schemas/sso';
import type { SsoApp } from './sso-config';

/**
 * The ID token, kept for the provider's logout (id_token_hint) in a cookie only the logout route
 * receives. A token too large for a cookie is not kept: the logout then names the client only.
 */
const HINT_COOKIE = 'gh_sso_hint';
const MAX_HINT_LENGTH = 3800;

const NOT_CONFIGURED =
  'single sign-on is not configured on this server: ask IT (GATEHOUSE_OIDC_ISSUER is not set)';

export interface SignInRoutes {
  /** The app, whose pages are under /APP/: the browser is sent back only to one of them. */
  readonly app: SsoApp;
  /** The app's session cookie (path /APP). */
  readonly cookie: string;
  /** Who the person is to this app; undefined when nobody. */
  readonly identify: (
    sso: SingleSignOn,
    person: SignedIn,
  ) => { username: string; role: Role | null } | undefined;
  /** The refusal (403) of a person who is nobody to this app: why, and whom to ask. */
  readonly nobody: string;
  /** Ends a session of the app's own (a local account's) at logout. */
  readonly endLocal?: (sessionId: string) => Promise<void>;
}

export function signInRoutes(fastify: FastifyInstance, routes: SignInRoutes): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const open = { public: true };
  const cookiePath = `/${routes.app}`;
  const home = `${cookiePath}/`;
  const hintPath = `${cookiePath}/api/logout`;
  const returnable = new RegExp(`^/${routes.app}(/[^\\\\\\s]*)?$`);
  const returnTo = (wanted: string | undefined) =>
    wanted && returnable.test(wanted) && !wanted.includes('//') ? wanted : home;
  const refused = (reply: FastifyReply, error: unknown) => {
    if (!(error instanceof SsoRefusal)) throw error;
    return refusalPage(reply, error.status, error.message, home);
  };

  app.get(
    `/${routes.app}/api/sso/login`,
    { config: open, schema: { querystring: SsoLoginQuery } },
    async (request, reply) => {
      if (!app.sso) return refusalPage(reply, 404, NOT_CONFIGURED, home);
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
    if (!sso) return refusalPage(reply, 404, NOT_CONFIGURED, home);
    let subject: string | undefined;
    try {
      const person = await sso.complete(
        routes.app,
        flowCookieOf(request.cookies),
        request.url,
        reply,
      );
      subject = person.subject;
      const identity = routes.identify(sso, person);
      if (!identity) throw new SsoRefusal(403, routes.nobody);
      const { sessionId } = await sso.startSession(routes.app, person, identity);
      const cookie = {
        httpOnly: true,
        sameSite: 'strict',
        secure: request.protocol === 'https',
        maxAge: sso.options.sessionHours * 3600,
      } as const;
      void reply.setCookie(routes.cookie, sessionId, { ...cookie, path: cookiePath });
      if (person.idToken.length <= MAX_HINT_LENGTH)
        void reply.setCookie(HINT_COOKIE, person.idToken, { ...cookie, path: hintPath });
      return reply.redirect(person.returnTo, 303);
    } catch (error) {
      if (error instanceof SsoRefusal) await sso.refuse(routes.app, error.message, subject);
      return refused(reply, error);
    }
  });

  // Behind the app's session check: a logout needs the session and its CSRF token.
  app.post(hintPath, { schema: { response: { 200: SignedOut } } }, async (request, reply) => {
    const sessionId = request.cookies[routes.cookie]!;
    await routes.endLocal?.(sessionId);
    void reply.clearCookie(routes.cookie, { path: cookiePath });
    void reply.clearCookie(HINT_COOKIE, { path: hintPath });
    const signedOut = await app.sso?.logout(routes.app, sessionId, request.cookies[HINT_COOKIE]);
    return { ok: true as const, ...signedOut };
  });
}
