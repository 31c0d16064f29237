// A real OpenID Provider for tests (the certified `oidc-provider` package), on 127.0.0.1, with
// accounts whose claims the test chooses, signing keys it can rotate, and a sign-in driven over
// HTTP the way a browser follows it (redirects, cookies, the login form). Consent is granted
// without asking, as for a first-party client.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { expect } from 'vitest';
import type { SsoOptions } from '../../server/auth/sso-config';
import { callConsole } from './console-api';
import { CLIENT_ID, CLIENT_SECRET, ssoOptions } from './sso-options';
import { startTestServer, type Engine, type TestServer } from './server';

export { ssoOptions };

export interface Account {
  readonly email?: string;
  readonly preferred_username?: string;
  readonly groups?: readonly string[];
}

export interface TestIdp {
  readonly issuer: string;
  /** New signing keys; the old ones are no longer published. */
  rotateKeys(): void;
  /** Which kid signs now. */
  readonly kid: string;
  close(): Promise<void>;
}

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };
}

/** How the provider behaves beyond its accounts. */
export interface IdpOptions {
  /** false: no end_session_endpoint (a provider without RP-initiated logout). */
  readonly logout?: boolean;
}

function providerFor(
  issuer: string,
  redirectUris: readonly string[],
  accounts: Record<string, Account>,
  key: ReturnType<typeof signingKey>,
  options: IdpOptions,
) {
  return new Provider(issuer, {
    features: { rpInitiatedLogout: { enabled: options.logout ?? true } },
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: redirectUris,
        post_logout_redirect_uris: redirectUris.map((uri) =>
          uri.replace(/api\/sso\/callback$/, ''),
        ),
        response_types: ['code'],
        grant_types: ['authorization_code'],
      },
    ],
    jwks: { keys: [key] },
    cookies: { keys: ['cookie-key-for-tests'] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['preferred_username', 'groups'],
    },
    pkce: { required: () => true },
    ttl: { Interaction: 600, Grant: 3600, Session: 3600, AccessToken: 600, IdToken: 600 },
    findAccount: async (_ctx: unknown, id: string) => {
      const account = accounts[id];
      return account
        ? {
            accountId: id,
            claims: async () => ({ sub: id, email_verified: true, ...account }),
          }
        : undefined;
    },
    // A first-party client: the person is not asked to consent.
    loadExistingGrant: async (ctx: {
      oidc: {
        provider: Provider;
        client: { clientId: string };
        session: { accountId: string };
      };
    }) => {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
  });
}

/** Starts a provider on 127.0.0.1 for the given redirect URIs (which may be filled in later). */
export async function startIdp(
  accounts: Record<string, Account>,
  redirectUris: () => readonly string[],
  options: IdpOptions = {},
): Promise<TestIdp> {
  let handler: (request: IncomingMessage, response: ServerResponse) => void = (_q, response) =>
    response.writeHead(503).end();
  const server = createServer((request, response) => handler(request, response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let key = signingKey();
  let provider: Provider | undefined;
  const current = () => (provider ??= providerFor(issuer, redirectUris(), accounts, key, options));
  handler = (request, response) => current().callback()(request, response);
  return {
    issuer,
    get kid() {
      return key.kid;
    },
    rotateKeys() {
      key = signingKey();
      provider = undefined;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Cookies as a browser keeps them for one site (paths ignored: tests use few and distinct names). */
export class CookieJar {
  readonly #cookies = new Map<string, string>();
  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at);
      const value = pair!.slice(at + 1);
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(line))
        this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
  get(name: string): string | undefined {
    return this.#cookies.get(name);
  }
}

/** GET without following redirects, cookies from and into the jar. */
export async function visit(url: string, jar: CookieJar, init: RequestInit = {}) {
  const response = await fetch(url, {
    ...init,
    redirect: 'manual',
    headers: { ...(init.headers as Record<string, string>), cookie: jar.header() },
  });
  jar.take(response);
  return response;
}

/** Where the provider sends the browser back to, and whether it asked for the login on the way. */
export interface IdpAnswer {
  readonly callback: string;
  readonly askedForLogin: boolean;
}

/**
 * Signs `login` in at the provider from its authorization URL, as a browser would: follows the
 * provider's redirects and submits its login form when it shows one (it does not while the
 * browser's session there, kept in `jar`, lasts); says where the provider sends the browser back
 * to (the relying party's callback with code, state and iss).
 */
export async function signInAtIdp(
  authorizationUrl: string,
  login: string,
  jar = new CookieJar(),
): Promise<IdpAnswer> {
  let url = authorizationUrl;
  let askedForLogin = false;
  const origin = new URL(authorizationUrl).origin;
  for (let hop = 0; hop < 10; hop++) {
    const response = await visit(url, jar);
    const location = response.headers.get('location');
    if (location) {
      url = new URL(location, url).href;
      if (!url.startsWith(origin)) return { callback: url, askedForLogin };
      continue;
    }
    const form = /action="([^"]+)"/.exec(await response.text());
    if (!form) throw new Error(`the provider answered ${response.status} at ${url} with no form`);
    askedForLogin = true;
    const submitted = await visit(new URL(form[1]!, url).href, jar, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ prompt: 'login', login, password: 'any' }).toString(),
    });
    url = new URL(submitted.headers.get('location')!, url).href;
  }
  throw new Error('the provider kept redirecting');
}

/**
 * Follows a logout's end_session_url as a browser would (`jar` holds its session at the
 * provider): confirms the provider's "sign out?" form and returns where it sends the browser back.
 */
export async function signOutAtIdp(endSessionUrl: string, jar: CookieJar): Promise<string> {
  const page = await visit(endSessionUrl, jar);
  const html = await page.text();
  const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
  if (page.status !== 200 || !action || !xsrf)
    throw new Error(`the provider's logout answered ${page.status}: ${html.slice(0, 300)}`);
  const confirmed = await visit(new URL(action, endSessionUrl).href, jar, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ xsrf, logout: 'yes' }).toString(),
  });
  const back = confirmed.headers.get('location');
  if (!back) throw new Error(`the provider's logout confirmation answered ${confirmed.status}`);
  return new URL(back, endSessionUrl).href;
}

export interface SsoAttempt {
  /** The backend's answer at its callback. */
  readonly response: Response;
  readonly jar: CookieJar;
  /** Whether the provider asked for the login (it does not while its session lasts). */
  readonly askedForLogin: boolean;
}

/**
 * How the browser behaves in a sign-in: `authorization` may change the provider's URL before the
 * browser goes there, `callback` the callback URL before it comes back; `idpJar` keeps the
 * browser's cookies at the provider from one sign-in to the next.
 */
export interface SsoBrowser {
  readonly authorization?: (url: URL) => void;
  readonly callback?: (url: URL) => void;
  readonly idpJar?: CookieJar;
}

/**
 * A whole sign-in to the console or the portal of the backend at `base`: its login route, the
 * provider's login, and its callback.
 */
export async function ssoSignIn(
  base: string,
  app: 'console' | 'portal',
  login: string,
  tamper: SsoBrowser = {},
  returnTo = `/${app}/`,
): Promise<SsoAttempt> {
  const jar = new CookieJar();
  const start = await visit(
    `${base}/${app}/api/sso/login?return=${encodeURIComponent(returnTo)}`,
    jar,
  );
  if (start.status !== 303)
    throw new Error(`the backend's sign-in answered ${start.status}: ${await start.text()}`);
  const authorization = new URL(start.headers.get('location')!);
  tamper.authorization?.(authorization);
  const atIdp = await signInAtIdp(authorization.href, login, tamper.idpJar);
  const callback = new URL(atIdp.callback);
  tamper.callback?.(callback);
  return { response: await visit(callback.href, jar), jar, askedForLogin: atIdp.askedForLogin };
}

/** The session cookie each app sets at the end of a sign-in. */
export const SESSION_COOKIES = { console: 'gh_session', portal: 'gh_portal' } as const;

/** A person signed in to an app: the sign-in, its session cookie and the session's CSRF token. */
export interface SsoSession {
  readonly attempt: SsoAttempt;
  readonly cookie: string;
  readonly csrf: string;
}

/** A whole sign-in that must succeed, and the session it opens, as the app's /api/me shows it. */
export async function ssoSession(
  base: string,
  app: 'console' | 'portal',
  login: string,
  browser: SsoBrowser = {},
): Promise<SsoSession> {
  const attempt = await ssoSignIn(base, app, login, browser);
  expect(attempt.response.status).toBe(303);
  const name = SESSION_COOKIES[app];
  const cookie = `${name}=${attempt.jar.get(name)}`;
  const me = await callConsole(base, 'GET', `/${app}/api/me`, { cookie });
  expect(me.status).toBe(200);
  return { attempt, cookie, csrf: me.body.csrfToken as string };
}

/** The people the SSO tests sign in: one per role, one in no mapped group, an employee. */
export const SSO_ACCOUNTS: Record<string, Account> = {
  'sub-ines': { email: 'ines@example.com', preferred_username: 'ines', groups: ['it-admins'] },
  'sub-hal': { email: 'hal@example.com', preferred_username: 'hal', groups: ['helpdesk', 'staff'] },
  'sub-vic': { email: 'vic@example.com', preferred_username: 'vic', groups: ['auditors'] },
  'sub-ada': { email: 'ada@example.com', preferred_username: 'ada', groups: ['staff'] },
  'sub-bob': { email: 'bob@example.com', preferred_username: 'bob', groups: ['staff'] },
};

export interface SsoStack {
  readonly server: TestServer;
  /** The backend's base URL, its server's. */
  readonly base: string;
  readonly idp: TestIdp;
  close(): Promise<void>;
}

/** A backend trusting a provider started beside it, both on 127.0.0.1. */
export async function startSsoStack(
  engine: Engine,
  overrides: Partial<SsoOptions> = {},
  accounts: Record<string, Account> = SSO_ACCOUNTS,
  backend: Parameters<typeof startTestServer>[1] = {},
  idpOptions: IdpOptions = {},
): Promise<SsoStack> {
  let base = '';
  const idp = await startIdp(
    accounts,
    () => [`${base}/console/api/sso/callback`, `${base}/portal/api/sso/callback`],
    idpOptions,
  );
  const sso = ssoOptions(idp, overrides);
  const server = await startTestServer(engine, { ...backend, sso });
  // The redirect URIs name the backend's port, known only now: nothing has read them yet.
  base = server.base;
  sso.publicUrl = base;
  return {
    server,
    base,
    idp,
    async close() {
      await server.close();
      await idp.close();
    },
  };
}
