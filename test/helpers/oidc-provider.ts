// A real OpenID Provider for tests (the certified `oidc-provider` package), on 127.0.0.1, with
// accounts whose claims the test chooses, signing keys it can rotate, and a sign-in driven over
// HTTP the way a browser follows it (redirects, cookies, the login form). Consent is granted
// without asking, as for a first-party client.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import type { SsoOptions } from '../../server/auth/sso-config';
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

function providerFor(
  issuer: string,
  redirectUris: readonly string[],
  accounts: Record<string, Account>,
  key: ReturnType<typeof signingKey>,
) {
  return new Provider(issuer, {
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
): Promise<TestIdp> {
  let handler: (request: IncomingMessage, response: ServerResponse) => void = (_q, response) =>
    response.writeHead(503).end();
  const server = createServer((request, response) => handler(request, response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let key = signingKey();
  let provider: Provider | undefined;
  const current = () => (provider ??= providerFor(issuer, redirectUris(), accounts, key));
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

/**
 * Signs `login` in at the provider from its authorization URL, as a browser would: follows the
 * provider's redirects and submits its login form; returns the URL the provider sends the browser
 * back to (the relying party's callback with code, state and iss).
 */
export async function signInAtIdp(authorizationUrl: string, login: string): Promise<string> {
  const jar = new CookieJar();
  let url = authorizationUrl;
  const origin = new URL(authorizationUrl).origin;
  for (let hop = 0; hop < 10; hop++) {
    const response = await visit(url, jar);
    const location = response.headers.get('location');
    if (location) {
      url = new URL(location, url).href;
      if (!url.startsWith(origin)) return url;
      continue;
    }
    const form = /action="([^"]+)"/.exec(await response.text());
    if (!form) throw new Error(`the provider answered ${response.status} at ${url} with no form`);
    const submitted = await visit(new URL(form[1]!, url).href, jar, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ prompt: 'login', login, password: 'any' }).toString(),
    });
    url = new URL(submitted.headers.get('location')!, url).href;
  }
  throw new Error('the provider kept redirecting');
}

export interface SsoAttempt {
  /** The backend's answer at its callback. */
  readonly response: Response;
  readonly jar: CookieJar;
}

/**
 * A whole sign-in to the console or the portal of the backend at `base`: its login route, the
 * provider's login, and its callback. `tamper` may change the provider's URL before the browser
 * goes there, and the callback URL before it comes back.
 */
export async function ssoSignIn(
  base: string,
  app: 'console' | 'portal',
  login: string,
  tamper: { authorization?: (url: URL) => void; callback?: (url: URL) => void } = {},
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
  const callback = new URL(await signInAtIdp(authorization.href, login));
  tamper.callback?.(callback);
  return { response: await visit(callback.href, jar), jar };
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
  readonly idp: TestIdp;
  close(): Promise<void>;
}

/** A backend trusting a provider started beside it, both on 127.0.0.1. */
export async function startSsoStack(
  engine: Engine,
  overrides: Partial<SsoOptions> = {},
  accounts: Record<string, Account> = SSO_ACCOUNTS,
  backend: Parameters<typeof startTestServer>[1] = {},
): Promise<SsoStack> {
  let base = '';
  const idp = await startIdp(accounts, () => [
    `${base}/console/api/sso/callback`,
    `${base}/portal/api/sso/callback`,
  ]);
  const sso = ssoOptions(idp, overrides);
  const server = await startTestServer(engine, { ...backend, sso });
  // The redirect URIs name the backend's port, known only now: nothing has read them yet.
  base = server.base;
  sso.publicUrl = base;
  return {
    server,
    idp,
    async close() {
      await server.close();
      await idp.close();
    },
  };
}
