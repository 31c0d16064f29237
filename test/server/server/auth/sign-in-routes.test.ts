// Logging out of the console and the portal against a real OpenID Provider (oidc-provider on
// 127.0.0.1): Gatehouse's session ends, and the provider's ends too through its end_session_endpoint
// (id_token_hint, back to Gatehouse), so that the next sign-in asks for the person's credentials
// again; a provider without one leaves a local logout that says so.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { callConsole, logInThroughApi } from '../../../helpers/console-api';
import { createConsoleAccounts, CONSOLE_ACCOUNTS } from '../../../helpers/console-fixtures';
import {
  CookieJar,
  signOutAtIdp,
  ssoSignIn,
  startSsoStack,
  type SsoStack,
} from '../../../helpers/oidc-provider';
import { CLIENT_ID } from '../../../helpers/sso-options';
import { ENGINES } from '../../../helpers/server';

const APPS = [
  { app: 'console', login: 'sub-hal', cookie: 'gh_session' },
  { app: 'portal', login: 'sub-ada', cookie: 'gh_portal' },
] as const;

type App = (typeof APPS)[number];

/** Signs in with the browser's cookies at the provider in `idpJar`; the session and its token. */
async function signIn(base: string, { app, login, cookie }: App, idpJar: CookieJar) {
  const attempt = await ssoSignIn(base, app, login, { idpJar });
  expect(attempt.response.status).toBe(303);
  const session = `${cookie}=${attempt.jar.get(cookie)}`;
  const me = await callConsole(base, 'GET', `/${app}/api/me`, { cookie: session });
  expect(me.status).toBe(200);
  return { attempt, session, csrf: me.body.csrfToken as string };
}

const payloadOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

describe.each(ENGINES)('logout through the identity provider on %s', (engine) => {
  let stack: SsoStack;
  let base: string;

  beforeAll(async () => {
    stack = await startSsoStack(engine);
    base = stack.server.base;
  }, 60_000);
  afterAll(() => stack?.close());

  it.each(APPS)('ends the $app session here and at the provider', async (app) => {
    const idpJar = new CookieJar();
    const { attempt, session, csrf } = await signIn(base, app, idpJar);
    expect(attempt.askedForLogin).toBe(true);
    // While the provider's session lasts, it signs the person in without asking...
    const again = await signIn(base, app, idpJar);
    expect(again.attempt.askedForLogin).toBe(false);

    const out = await callConsole(base, 'POST', `/${app.app}/api/logout`, {
      cookie: attempt.jar.header(),
      csrf,
      body: {},
    });
    expect(out.status).toBe(200);
    expect(out.body.notice).toBeUndefined();
    const endSession = new URL(out.body.end_session_url);
    expect(endSession.origin).toBe(stack.idp.issuer);
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(`${base}/${app.app}/`);
    expect(payloadOf(endSession.searchParams.get('id_token_hint')!)).toMatchObject({
      iss: stack.idp.issuer,
      sub: app.login,
      aud: CLIENT_ID,
    });
    expect(await signOutAtIdp(endSession.href, idpJar)).toBe(`${base}/${app.app}/`);

    // ...and after the logout, Gatehouse's cookie is worth nothing and the provider asks again.
    expect((await callConsole(base, 'GET', `/${app.app}/api/me`, { cookie: session })).status).toBe(
      401,
    );
    const next = await ssoSignIn(base, app.app, app.login, { idpJar });
    expect(next.response.status).toBe(303);
    expect(next.askedForLogin).toBe(true);
    // The other session of the same person (the second sign-in) is a session of its own.
    expect(
      (await callConsole(base, 'GET', `/${app.app}/api/me`, { cookie: again.session })).status,
    ).toBe(200);

    const audit = await stack.server.db
      .selectFrom('audit_log')
      .selectAll()
      .where('actor', '=', `sso:${app.login}`)
      .where('action', '=', 'logout')
      .where('target', '=', app.app)
      .execute();
    expect(audit).toHaveLength(1);
  });

  it.each(APPS)('keeps the $app ID token for the logout route alone', async (app) => {
    const attempt = await ssoSignIn(base, app.app, app.login);
    const hint = attempt.response.headers
      .getSetCookie()
      .find((line) => line.startsWith('gh_sso_hint='));
    expect(hint).toMatch(new RegExp(`Path=/${app.app}/api/logout`));
    expect(hint).toMatch(/HttpOnly/);
    expect(hint).toMatch(/SameSite=Strict/);
  });

  it.each(APPS)('refuses a $app logout without the CSRF token', async (app) => {
    const { attempt, session } = await signIn(base, app, new CookieJar());
    const out = await callConsole(base, 'POST', `/${app.app}/api/logout`, {
      cookie: attempt.jar.header(),
      body: {},
    });
    expect(out.status).toBe(403);
    expect((await callConsole(base, 'GET', `/${app.app}/api/me`, { cookie: session })).status).toBe(
      200,
    );
  });
});

describe('single sign-on sessions', () => {
  let stack: SsoStack;
  let base: string;

  beforeAll(async () => {
    stack = await startSsoStack('sqlite');
    base = stack.server.base;
  }, 60_000);
  afterAll(() => stack?.close());
  afterEach(() => vi.useRealTimers());

  it.each(APPS)('expires a $app session after the configured hours', async (app) => {
    const attempt = await ssoSignIn(base, app.app, app.login);
    const cookie = attempt.response.headers
      .getSetCookie()
      .find((line) => line.startsWith(`${app.cookie}=`));
    expect(cookie).toMatch(/Max-Age=28800/);
    const session = `${app.cookie}=${attempt.jar.get(app.cookie)}`;
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 8 * 3600_000 - 60_000 });
    expect((await callConsole(base, 'GET', `/${app.app}/api/me`, { cookie: session })).status).toBe(
      200,
    );
    vi.setSystemTime(Date.now() + 61_000);
    expect((await callConsole(base, 'GET', `/${app.app}/api/me`, { cookie: session })).status).toBe(
      401,
    );
  });

  it('keeps the console’s sessions and the portal’s apart', async () => {
    // hal is in the helpdesk group and, by the e-mail mapping, an employee too.
    const desk = await ssoSignIn(base, 'console', 'sub-hal');
    const portal = await ssoSignIn(base, 'portal', 'sub-hal');
    const deskId = desk.jar.get('gh_session')!;
    const portalId = portal.jar.get('gh_portal')!;
    expect(
      (await callConsole(base, 'GET', '/portal/api/me', { cookie: `gh_portal=${deskId}` })).status,
    ).toBe(401);
    expect(
      (await callConsole(base, 'GET', '/console/api/me', { cookie: `gh_session=${portalId}` }))
        .status,
    ).toBe(401);
  });
});

describe('logout with a provider that offers none', () => {
  let stack: SsoStack;
  let base: string;

  beforeAll(async () => {
    stack = await startSsoStack(
      'sqlite',
      { localLogin: 'break-glass' },
      undefined,
      {},
      {
        logout: false,
      },
    );
    base = stack.server.base;
    await createConsoleAccounts(stack.server.repos, 'admin');
  }, 60_000);
  afterAll(() => stack?.close());

  it.each(APPS)(
    'logs out of the $app here and says the provider may still know the person',
    async (app) => {
      const idpJar = new CookieJar();
      const { attempt, session, csrf } = await signIn(base, app, idpJar);
      const out = await callConsole(base, 'POST', `/${app.app}/api/logout`, {
        cookie: attempt.jar.header(),
        csrf,
        body: {},
      });
      expect(out.status).toBe(200);
      expect(out.body.end_session_url).toBeUndefined();
      expect(out.body.notice).toContain('You are signed out of Gatehouse');
      expect(out.body.notice).toContain('offers no sign-out');
      expect(
        (await callConsole(base, 'GET', `/${app.app}/api/me`, { cookie: session })).status,
      ).toBe(401);
      // What the notice warns of: the provider's session goes on.
      expect((await ssoSignIn(base, app.app, app.login, { idpJar })).askedForLogin).toBe(false);
    },
  );

  it('logs a break-glass account out locally, with nothing to say about the provider', async () => {
    const admin = await logInThroughApi(base, CONSOLE_ACCOUNTS.admin);
    const out = await callConsole(base, 'POST', '/console/api/logout', { ...admin, body: {} });
    expect(out.status).toBe(200);
    expect(out.body).toEqual({ ok: true });
    expect((await callConsole(base, 'GET', '/console/api/me', admin)).status).toBe(401);
  });
});
