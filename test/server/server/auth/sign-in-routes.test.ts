// Logging out of the console and the portal against a real OpenID Provider (oidc-provider on
// 127.0.0.1): Gatehouse's session ends, and the provider's ends too through its end_session_endpoint
// (id_token_hint, back to Gatehouse), so that the next sign-in asks for the person's credentials
// again; a provider without one leaves a local logout that says so.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { auditEntries } from '../../../helpers/audit';
import { callConsole, logInThroughApi } from '../../../helpers/console-api';
import { createConsoleAccounts, CONSOLE_ACCOUNTS } from '../../../helpers/console-fixtures';
import {
  CookieJar,
  signOutAtIdp,
  ssoSession,
  ssoSignIn,
  startSsoStack,
  type SsoAttempt,
} from '../../../helpers/oidc-provider';
import { useStarted } from '../../../helpers/scratch';
import { CLIENT_ID } from '../../../helpers/sso-options';
import { ENGINES } from '../../../helpers/server';

const APPS = [
  { app: 'console', login: 'sub-hal', cookie: 'gh_session' },
  { app: 'portal', login: 'sub-ada', cookie: 'gh_portal' },
] as const;

type App = (typeof APPS)[number];

/** What the app's /api/me answers to a session cookie: 200 while the session lasts, 401 after. */
async function meStatus(base: string, app: App['app'], cookie: string): Promise<number> {
  return (await callConsole(base, 'GET', `/${app}/api/me`, { cookie })).status;
}

/** Logs out of the app with the browser's cookies from its sign-in, and the CSRF token if given. */
const logOut = (base: string, app: App['app'], attempt: SsoAttempt, csrf?: string) =>
  callConsole(base, 'POST', `/${app}/api/logout`, { cookie: attempt.jar.header(), csrf, body: {} });

const payloadOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

describe.each(ENGINES)('logout through the identity provider on %s', (engine) => {
  const stack = useStarted(() => startSsoStack(engine));

  it.each(APPS)('ends the $app session here and at the provider', async (app) => {
    const { base } = stack;
    const idpJar = new CookieJar();
    const { attempt, cookie, csrf } = await ssoSession(base, app.app, app.login, { idpJar });
    expect(attempt.askedForLogin).toBe(true);
    // While the provider's session lasts, it signs the person in without asking...
    const again = await ssoSession(base, app.app, app.login, { idpJar });
    expect(again.attempt.askedForLogin).toBe(false);

    const out = await logOut(base, app.app, attempt, csrf);
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
    expect(await meStatus(base, app.app, cookie)).toBe(401);
    const next = await ssoSignIn(base, app.app, app.login, { idpJar });
    expect(next.response.status).toBe(303);
    expect(next.askedForLogin).toBe(true);
    // The other session of the same person (the second sign-in) is a session of its own.
    expect(await meStatus(base, app.app, again.cookie)).toBe(200);

    const audit = await auditEntries(stack.server.db, {
      actor: `sso:${app.login}`,
      action: 'logout',
      target: app.app,
    });
    expect(audit).toHaveLength(1);
  });

  it.each(APPS)('keeps the $app ID token for the logout route alone', async (app) => {
    const attempt = await ssoSignIn(stack.base, app.app, app.login);
    const hint = attempt.response.headers
      .getSetCookie()
      .find((line) => line.startsWith('gh_sso_hint='));
    expect(hint).toMatch(new RegExp(`Path=/${app.app}/api/logout`));
    expect(hint).toMatch(/HttpOnly/);
    expect(hint).toMatch(/SameSite=Strict/);
  });

  it.each(APPS)('refuses a $app logout without the CSRF token', async (app) => {
    const { attempt, cookie } = await ssoSession(stack.base, app.app, app.login);
    const out = await logOut(stack.base, app.app, attempt);
    expect(out.status).toBe(403);
    expect(await meStatus(stack.base, app.app, cookie)).toBe(200);
  });
});

describe('single sign-on sessions', () => {
  const stack = useStarted(() => startSsoStack('sqlite'));
  afterEach(() => vi.useRealTimers());

  it.each(APPS)('expires a $app session after the configured hours', async (app) => {
    const { base } = stack;
    const attempt = await ssoSignIn(base, app.app, app.login);
    const cookie = attempt.response.headers
      .getSetCookie()
      .find((line) => line.startsWith(`${app.cookie}=`));
    expect(cookie).toMatch(/Max-Age=28800/);
    const session = `${app.cookie}=${attempt.jar.get(app.cookie)}`;
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 8 * 3600_000 - 60_000 });
    expect(await meStatus(base, app.app, session)).toBe(200);
    vi.setSystemTime(Date.now() + 61_000);
    expect(await meStatus(base, app.app, session)).toBe(401);
  });

  it('keeps the console’s sessions and the portal’s apart', async () => {
    // hal is in the helpdesk group and, by the e-mail mapping, an employee too.
    const { base } = stack;
    const desk = await ssoSignIn(base, 'console', 'sub-hal');
    const portal = await ssoSignIn(base, 'portal', 'sub-hal');
    const deskId = desk.jar.get('gh_session')!;
    const portalId = portal.jar.get('gh_portal')!;
    expect(await meStatus(base, 'portal', `gh_portal=${deskId}`)).toBe(401);
    expect(await meStatus(base, 'console', `gh_session=${portalId}`)).toBe(401);
  });
});

describe('logout with a provider that offers none', () => {
  const stack = useStarted(async () => {
    const started = await startSsoStack(
      'sqlite',
      { localLogin: 'break-glass' },
      undefined,
      {},
      {
        logout: false,
      },
    );
    await createConsoleAccounts(started.server.repos, 'admin');
    return started;
  });

  it.each(APPS)(
    'logs out of the $app here and says the provider may still know the person',
    async (app) => {
      const { base } = stack;
      const idpJar = new CookieJar();
      const { attempt, cookie, csrf } = await ssoSession(base, app.app, app.login, { idpJar });
      const out = await logOut(base, app.app, attempt, csrf);
      expect(out.status).toBe(200);
      expect(out.body.end_session_url).toBeUndefined();
      expect(out.body.notice).toContain('You are signed out of Gatehouse');
      expect(out.body.notice).toContain('offers no sign-out');
      expect(await meStatus(base, app.app, cookie)).toBe(401);
      // What the notice warns of: the provider's session goes on.
      expect((await ssoSignIn(base, app.app, app.login, { idpJar })).askedForLogin).toBe(false);
    },
  );

  it('logs a break-glass account out locally, with nothing to say about the provider', async () => {
    const { base } = stack;
    const admin = await logInThroughApi(base, CONSOLE_ACCOUNTS.admin);
    const out = await callConsole(base, 'POST', '/console/api/logout', { ...admin, body: {} });
    expect(out.status).toBe(200);
    expect(out.body).toEqual({ ok: true });
    expect(await meStatus(base, 'console', admin.cookie)).toBe(401);
  });
});
