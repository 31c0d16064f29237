// Single sign-on against a real OpenID Provider (oidc-provider on 127.0.0.1): a person's groups
// become a console role, and every way a sign-in can be forged or replayed is refused.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { callConsole } from '../../../helpers/console-api';
import { createConsoleAccounts, CONSOLE_ACCOUNTS } from '../../../helpers/console-fixtures';
import {
  SSO_ACCOUNTS,
  ssoSignIn,
  startIdp,
  startSsoStack,
  type SsoStack,
} from '../../../helpers/oidc-provider';
import { MAX_PENDING_FLOWS } from '../../../../server/auth/sso-store';
import { ENGINES } from '../../../helpers/server';

const sessionOf = (attempt: Awaited<ReturnType<typeof ssoSignIn>>) =>
  `gh_session=${attempt.jar.get('gh_session')}`;

describe.each(ENGINES)('console single sign-on on %s', (engine) => {
  let stack: SsoStack;
  let base: string;

  beforeAll(async () => {
    stack = await startSsoStack(engine);
    base = stack.server.base;
  }, 60_000);
  afterAll(() => stack?.close());

  it.each([
    ['sub-ines', 'admin', 'ines'],
    ['sub-hal', 'helpdesk', 'hal'],
    ['sub-vic', 'viewer', 'vic'],
  ])('signs %s in with the role their groups map to (%s)', async (login, role, name) => {
    const attempt = await ssoSignIn(base, 'console', login, {}, '/console/requests?state=all');
    expect(attempt.response.status).toBe(303);
    expect(attempt.response.headers.get('location')).toBe('/console/requests?state=all');
    const me = await callConsole(base, 'GET', '/console/api/me', { cookie: sessionOf(attempt) });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ username: `sso:${name}`, role });
    const audit = await stack.server.db
      .selectFrom('audit_log')
      .selectAll()
      .where('actor', '=', `sso:${login}`)
      .where('action', '=', 'login')
      .execute();
    expect(audit.length).toBeGreaterThan(0);
    expect(JSON.parse(audit.at(-1)!.details)).toMatchObject({ issuer: stack.idp.issuer, role });
  });

  it('refuses a person in no mapped group, and says why', async () => {
    const attempt = await ssoSignIn(base, 'console', 'sub-ada');
    expect(attempt.response.status).toBe(403);
    expect(await attempt.response.text()).toContain('in no group that gives access');
    expect(attempt.jar.get('gh_session')).toBeUndefined();
  });

  it('lets a viewer read but not decide, like a local viewer', async () => {
    const attempt = await ssoSignIn(base, 'console', 'sub-vic');
    const me = await callConsole(base, 'GET', '/console/api/me', { cookie: sessionOf(attempt) });
    const decide = await callConsole(base, 'POST', '/console/api/requests/1/deny', {
      cookie: sessionOf(attempt),
      csrf: me.body.csrfToken,
      body: { message: 'no' },
    });
    expect(decide.status).toBe(403);
  });
});

describe('console single sign-on refusals', () => {
  let stack: SsoStack;
  let base: string;
  let other: Awaited<ReturnType<typeof startIdp>>;

  beforeAll(async () => {
    stack = await startSsoStack('sqlite', { localLogin: 'break-glass' });
    base = stack.server.base;
    // Another provider that knows the same client and redirect URI: a mix-up attacker's.
    other = await startIdp(SSO_ACCOUNTS, () => [`${base}/console/api/sso/callback`]);
    await createConsoleAccounts(stack.server.repos, 'admin', 'helpdesk');
  }, 60_000);
  afterAll(async () => {
    await other?.close();
    await stack?.close();
  });
  afterEach(() => vi.useRealTimers());

  const refusedWith = async (attempt: Awaited<ReturnType<typeof ssoSignIn>>, text: RegExp) => {
    expect(attempt.response.status).toBeGreaterThanOrEqual(400);
    expect(await attempt.response.text()).toMatch(text);
    expect(attempt.jar.get('gh_session')).toBeUndefined();
  };

  it('refuses a tampered state', async () => {
    const attempt = await ssoSignIn(base, 'console', 'sub-ines', {
      callback: (url) => url.searchParams.set('state', 'forged-state'),
    });
    await refusedWith(attempt, /state/);
  });

  it('refuses an ID token carrying another nonce', async () => {
    const attempt = await ssoSignIn(base, 'console', 'sub-ines', {
      authorization: (url) => url.searchParams.set('nonce', 'nonce-of-the-attacker'),
    });
    await refusedWith(attempt, /nonce/);
  });

  it('refuses an answer from another issuer', async () => {
    const attempt = await ssoSignIn(base, 'console', 'sub-ines', {
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
    const dropped = await ssoSignIn(base, 'console', 'sub-ines', {
      authorization: toOther,
      callback: (url) => url.searchParams.delete('iss'),
    });
    await refusedWith(dropped, /&#34;iss&#34; \(issuer\) missing/);
    // ...and with ours forged in, our provider does not know the other one's code.
    const forged = await ssoSignIn(base, 'console', 'sub-ines', {
      authorization: toOther,
      callback: (url) => url.searchParams.set('iss', stack.idp.issuer),
    });
    await refusedWith(forged, /answered invalid_grant/);
  });

  it('refuses a callback used twice', async () => {
    let callback = '';
    const first = await ssoSignIn(base, 'console', 'sub-ines', {
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
    const attempt = await ssoSignIn(base, 'console', 'sub-ines', {}, 'https://evil.example/');
    expect(attempt.response.headers.get('location')).toBe('/console/');
    const twice = await ssoSignIn(base, 'console', 'sub-ines', {}, '/console//evil.example');
    expect(twice.response.headers.get('location')).toBe('/console/');
  });

  it('follows a rotation of the provider’s signing keys', async () => {
    expect((await ssoSignIn(base, 'console', 'sub-ines')).response.status).toBe(303);
    const oldKid = stack.idp.kid;
    stack.idp.rotateKeys();
    expect(stack.idp.kid).not.toBe(oldKid);
    // The ID token's signature is checked: a kid the backend fetched less than a minute ago
    // does not know is refused...
    await refusedWith(await ssoSignIn(base, 'console', 'sub-ines'), /verification key/);
    // openid-client fetches the keys again for an unknown kid once its copy is a minute old.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 61_000 });
    const after = await ssoSignIn(base, 'console', 'sub-ines');
    expect(after.response.status).toBe(303);
    expect(after.jar.get('gh_session')).toBeDefined();
  });

  it('lets only admins log in with a password as break-glass', async () => {
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
    const refused = await stack.server.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'login.failed')
      .where('target', '=', 'console')
      .execute();
    expect(refused.map((row) => JSON.parse(row.details).reason).join('\n')).toMatch(/state/);
  });
});

describe('console without local logins', () => {
  let stack: SsoStack;
  beforeAll(async () => {
    stack = await startSsoStack('sqlite', { localLogin: 'off' });
    await createConsoleAccounts(stack.server.repos, 'admin');
  }, 60_000);
  afterAll(() => stack?.close());

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
    const refused = await fetch(`${stack.server.base}/console/api/sso/login`, {
      redirect: 'manual',
    });
    expect(refused.status).toBe(503);
    expect(await refused.text()).toContain('too many sign-ins are in progress');
  });

  it('refuses every password login', async () => {
    const admin = await callConsole(stack.server.base, 'POST', '/console/api/login', {
      body: CONSOLE_ACCOUNTS.admin,
    });
    expect(admin.status).toBe(403);
    expect(admin.body.error).toContain('single sign-on');
  });
});
