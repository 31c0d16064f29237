// Single sign-on against a real OpenID Provider (oidc-provider on 127.0.0.1): a person's groups
// become a console role, and every way a sign-in can be forged or replayed is refused.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { auditEntries } from '../../../helpers/audit';
import { callConsole } from '../../../helpers/console-api';
import {
  createConsoleAccounts,
  CONSOLE_ACCOUNTS,
  type ConsoleRole,
} from '../../../helpers/console-fixtures';
import {
  SSO_ACCOUNTS,
  ssoSession,
  ssoSignIn,
  startIdp,
  startSsoStack,
  type SsoBrowser,
} from '../../../helpers/oidc-provider';
import { MAX_PENDING_FLOWS } from '../../../../server/auth/sso-store';
import { useStarted } from '../../../helpers/scratch';
import { ENGINES } from '../../../helpers/server';

/** A console SSO stack whose tests share it, with these console accounts created. */
const useSsoStackWith = (localLogin: 'break-glass' | 'off', ...roles: ConsoleRole[]) =>
  useStarted(async () => {
    const stack = await startSsoStack('sqlite', { localLogin });
    await createConsoleAccounts(stack.server.repos, ...roles);
    return stack;
  });

const sessionOf = (attempt: Awaited<ReturnType<typeof ssoSignIn>>) =>
  `gh_session=${attempt.jar.get('gh_session')}`;

describe.each(ENGINES)('console single sign-on on %s', (engine) => {
  const stack = useStarted(() => startSsoStack(engine));

  it.each([
    ['sub-ines', 'admin', 'ines'],
    ['sub-hal', 'helpdesk', 'hal'],
    ['sub-vic', 'viewer', 'vic'],
  ])('signs %s in with the role their groups map to (%s)', async (login, role, name) => {
    const { base } = stack;
    const attempt = await ssoSignIn(base, 'console', login, {}, '/console/requests?state=all');
    expect(attempt.response.status).toBe(303);
    expect(attempt.response.headers.get('location')).toBe('/console/requests?state=all');
    const me = await callConsole(base, 'GET', '/console/api/me', { cookie: sessionOf(attempt) });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ username: `sso:${name}`, role });
    const audit = await auditEntries(stack.server.db, { actor: `sso:${login}`, action: 'login' });
    expect(audit.length).toBeGreaterThan(0);
    expect(audit.at(-1)!.details).toMatchObject({ issuer: stack.idp.issuer, role });
  });

  it('refuses a person in no mapped group, and says why', async () => {
    const attempt = await ssoSignIn(stack.base, 'console', 'sub-ada');
    expect(attempt.response.status).toBe(403);
    expect(await attempt.response.text()).toContain('in no group that gives access');
    expect(attempt.jar.get('gh_session')).toBeUndefined();
  });

  it('lets a viewer read but not decide, like a local viewer', async () => {
    const viewer = await ssoSession(stack.base, 'console', 'sub-vic');
    const decide = await callConsole(stack.base, 'POST', '/console/api/requests/1/deny', {
      cookie: viewer.cookie,
      csrf: viewer.csrf,
      body: { message: 'no' },
    });
    expect(decide.status).toBe(403);
  });
});

describe('console single sign-on refusals', () => {
  const stack = useSsoStackWith('break-glass', 'admin', 'helpdesk');
  // Another provider that knows the same client and redirect URI: a mix-up attacker's.
  const other = useStarted(() =>
    startIdp(SSO_ACCOUNTS, () => [`${stack.base}/console/api/sso/callback`]),
  );
  afterEach(() => vi.useRealTimers());

  /** Ines (an admin) signs in to the console, through a browser that may tamper with the flow. */
  const signInInes = (browser: SsoBrowser = {}, returnTo?: string) =>
    ssoSignIn(stack.base, 'console', 'sub-ines', browser, returnTo);

  const refusedWith = async (attempt: Awaited<ReturnType<typeof ssoSignIn>>, text: RegExp) => {
    expect(attempt.response.status).toBeGreaterThanOrEqual(400);
    expect(await attempt.response.text()).toMatch(text);
    expect(attempt.jar.get('gh_session')).toBeUndefined();
  };

  it('refuses a tampered state', async () => {
    const attempt = await signInInes({
      callback: (url) => url.searchParams.set('state', 'forged-state'),
    });
    await refusedWith(attempt, /state/);
  });

  it('refuses an ID token carrying another nonce', async () => {
    const attempt = await signInInes({
      authorization: (url) => url.searchParams.set('nonce', 'nonce-of-the-attacker'),
    });
    await refusedWith(attempt, /nonce/);
  });

  it('refuses an answer from another issuer', async () => {
    const attempt = await signInInes({
      authorization: (url) => {
        const at = new URL(other.issuer);
        url.host = at.host;
      },
    });
    await refusedWith(attempt, /iss/);
  });

  it('refuses another provider’s code whatever its iss parameter says', async () => {
    const toOther = (url: URL) => void (url.host = new URL(other.issuer).host);
    // Without the parameter openid-client refuses at once (the provider promises to send it)...
    const dropped = await signInInes({
      authorization: toOther,
      callback: (url) => url.searchParams.delete('iss'),
    });
    await refusedWith(dropped, /&#34;iss&#34; \(issuer\) missing/);
    // ...and with ours forged in, our provider does not know the other one's code.
    const forged = await signInInes({
      authorization: toOther,
      callback: (url) => url.searchParams.set('iss', stack.idp.issuer),
    });
    await refusedWith(forged, /answered invalid_grant/);
  });

  it('refuses a callback used twice', async () => {
    let callback = '';
    const first = await signInInes({
      callback: (url) => void (callback = url.href),
    });
    expect(first.response.status).toBe(303);
    const again = await fetch(callback, {
      redirect: 'manual',
      headers: { cookie: first.jar.header() },
    });
    expect(again.status).toBe(400);
    expect(await again.text()).toContain('unknown, expired or already used');
  });

  it('sends the browser back only to a console page', async () => {
    const attempt = await signInInes({}, 'https://evil.example/');
    expect(attempt.response.headers.get('location')).toBe('/console/');
    const twice = await signInInes({}, '/console//evil.example');
    expect(twice.response.headers.get('location')).toBe('/console/');
  });

  it('follows a rotation of the provider’s signing keys', async () => {
    expect((await signInInes()).response.status).toBe(303);
    const oldKid = stack.idp.kid;
    stack.idp.rotateKeys();
    expect(stack.idp.kid).not.toBe(oldKid);
    // The ID token's signature is checked: a kid the backend fetched less than a minute ago
    // does not know is refused...
    await refusedWith(await signInInes(), /verification key/);
    // openid-client fetches the keys again for an unknown kid once its copy is a minute old.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 61_000 });
    const after = await signInInes();
    expect(after.response.status).toBe(303);
    expect(after.jar.get('gh_session')).toBeDefined();
  });

  it('lets only admins log in with a password as break-glass', async () => {
    const { base } = stack;
    const admin = await callConsole(base, 'POST', '/console/api/login', {
      body: CONSOLE_ACCOUNTS.admin,
    });
    expect(admin.status).toBe(200);
    const helpdesk = await callConsole(base, 'POST', '/console/api/login', {
      body: CONSOLE_ACCOUNTS.helpdesk,
    });
    expect(helpdesk.status).toBe(403);
    expect(helpdesk.body.error).toContain('break-glass');
    const status = await callConsole(base, 'GET', '/console/api/sso');
    expect(status.body).toEqual({ sso: true, local_login: 'break-glass' });
  });

  it('audits each refused sign-in', async () => {
    const refused = await auditEntries(stack.server.db, {
      action: 'login.failed',
      target: 'console',
    });
    expect(refused.map((entry) => entry.details.reason).join('\n')).toMatch(/state/);
  });
});

describe('console without local logins', () => {
  const stack = useSsoStackWith('off', 'admin');

  it('bounds the sign-ins waiting at the provider', async () => {
    const expires_at = Date.now() + 600_000;
    for (let i = 0; i < MAX_PENDING_FLOWS; i += 500)
      await stack.server.db
        .insertInto('sso_flows')
        .values(
          Array.from({ length: Math.min(500, MAX_PENDING_FLOWS - i) }, (_, n) => ({
            id_hash: `flood-${i + n}`,
            app: 'console',
            state: 's',
            nonce: 'n',
            code_verifier: 'v',
            return_to: '/console/',
            expires_at,
          })),
        )
        .execute();
    const refused = await fetch(`${stack.base}/console/api/sso/login`, {
      redirect: 'manual',
    });
    expect(refused.status).toBe(503);
    expect(await refused.text()).toContain('too many sign-ins are in progress');
  });

  it('refuses every password login', async () => {
    const admin = await callConsole(stack.base, 'POST', '/console/api/login', {
      body: CONSOLE_ACCOUNTS.admin,
    });
    expect(admin.status).toBe(403);
    expect(admin.body.error).toContain('single sign-on');
  });
});
