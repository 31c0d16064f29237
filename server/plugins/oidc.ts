// Single sign-on through an OpenID Provider (authorization code with PKCE, state and nonce, the
// ID token's signature checked against the provider's keys) for the console and the portal, as
// `app.sso` (undefined when no provider is configured). openid-client does the protocol: it
// refuses a response from another issuer, a wrong state or nonce, and fetches the provider's keys
// again when a token names a key it has not seen (a rotation), at most once a minute.
import type { FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import * as client from 'openid-client';
import type { SsoApp, SsoOptions } from '../auth/sso-config';
import { SsoStore, type SsoSession } from '../auth/sso-store';
import { audit } from '../db/audit';
import type { Db } from '../db/connect';
import { RequestError } from '../db/requests';
import { ROLES, type Role } from '../db/users';
import type { SignedOut as SignedOutAnswer } from '../schemas/sso';

declare module 'fastify' {
  interface FastifyInstance {
    readonly sso: SingleSignOn | undefined;
  }
}

/** Who the provider says signed in: its issuer, the subject and the claims of ID token and userinfo. */
export interface SignedIn {
  readonly issuer: string;
  readonly subject: string;
  readonly claims: Readonly<Record<string, unknown>>;
  readonly returnTo: string;
  /** The ID token itself: the provider's logout takes it back as id_token_hint. */
  readonly idToken: string;
}

/** What a logout tells the browser: where the provider ends its session, or why it cannot. */
type SignedOut = Omit<SignedOutAnswer, 'ok'>;

const SIGNED_OUT_HERE = 'You are signed out of Gatehouse.';
const CLOSE_BROWSER =
  'To end your session there too, sign out at the identity provider or close the browser.';

/** A sign-in refused, with the sentence the browser shows. */
export class SsoRefusal extends RequestError {}

const FLOW_COOKIE = 'gh_sso_flow';

export class SingleSignOn {
  readonly store: SsoStore;
  #configuration: Promise<client.Configuration> | undefined;

  constructor(
    readonly options: SsoOptions,
    private readonly db: Db,
  ) {
    this.store = new SsoStore(db);
  }

  redirectUri(app: SsoApp): string {
    return `${this.options.publicUrl}/${app}/api/sso/callback`;
  }

  /** Discovery once, again after a failure (the provider may come up after us). */
  async configuration(): Promise<client.Configuration> {
    const { issuer, clientId, clientSecret } = this.options;
    this.#configuration ??= client
      .discovery(
        new URL(issuer),
        clientId,
        clientSecret,
        clientSecret ? client.ClientSecretBasic(clientSecret) : client.None(),
        {
          execute: [
            client.enableNonRepudiationChecks,
            ...(issuer.startsWith('http:') ? [client.allowInsecureRequests] : []),
          ],
        },
      )
      .catch((error: unknown) => {
        this.#configuration = undefined;
        throw new SsoRefusal(
          502,
          `the identity provider ${issuer} could not be reached (${(error as Error).message}); try again, or tell IT if it persists`,
        );
      });
    return this.#configuration;
  }

  /** Starts a sign-in: the flow cookie on the reply, and the provider's URL to send the browser to. */
  async begin(app: SsoApp, returnTo: string, reply: FastifyReply): Promise<URL> {
    const config = await this.configuration();
    const flow = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      codeVerifier: client.randomPKCECodeVerifier(),
      returnTo,
    };
    const flowId = await this.store.addFlow(app, flow);
    if (!flowId)
      throw new SsoRefusal(503, 'too many sign-ins are in progress; try again in a few minutes');
    void reply.setCookie(FLOW_COOKIE, flowId, {
      httpOnly: true,
      // The provider sends the browser back with a cross-site navigation: Lax lets the cookie come.
      sameSite: 'lax',
      secure: this.options.publicUrl.startsWith('https:'),
      path: `/${app}/api/sso/`,
      maxAge: 600,
    });
    return client.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri(app),
      scope: this.options.scopes,
      response_type: 'code',
      state: flow.state,
      nonce: flow.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(flow.codeVerifier),
      code_challenge_method: 'S256',
    });
  }

  /** Finishes a sign-in at the callback: every check openid-client makes, then the claims. */
  async complete(
    app: SsoApp,
    flowId: string | undefined,
    callbackPathAndQuery: string,
    reply: FastifyReply,
  ): Promise<SignedIn> {
    void reply.clearCookie(FLOW_COOKIE, { path: `/${app}/api/sso/` });
    const flow = flowId ? await this.store.takeFlow(app, flowId) : undefined;
    if (!flow)
      throw new SsoRefusal(
        400,
        'this sign-in is unknown, expired or already used; start again from the sign-in page',
      );
    const config = await this.configuration();
    let tokens;
    try {
      tokens = await client.authorizationCodeGrant(
        config,
        new URL(callbackPathAndQuery, this.options.publicUrl),
        {
          pkceCodeVerifier: flow.codeVerifier,
          expectedState: flow.state,
          expectedNonce: flow.nonce,
          idTokenExpected: true,
        },
      );
    } catch (error) {
      throw new SsoRefusal(401, `the sign-in was refused: ${refusalReason(error)}`);
    }
    const idClaims = tokens.claims()!;
    const userinfo = config.serverMetadata().userinfo_endpoint
      ? await client.fetchUserInfo(config, tokens.access_token, idClaims.sub)
      : {};
    return {
      issuer: idClaims.iss,
      subject: idClaims.sub,
      // The ID token's own claims win over userinfo's.
      claims: { ...userinfo, ...idClaims },
      returnTo: flow.returnTo,
      idToken: tokens.id_token!,
    };
  }

  /**
   * Ends a single sign-on session here (audited with the provider's subject) and says where to
   * send the browser so that the provider ends its own session too (RP-initiated logout, back to
   * the app's page afterwards). Nothing to say when the session was not a single sign-on one.
   */
  async logout(
    app: SsoApp,
    sessionId: string,
    idTokenHint: string | undefined,
  ): Promise<SignedOut> {
    const ended = await this.store.logout(app, sessionId);
    if (!ended) return {};
    await audit(this.db, {
      actor: `sso:${ended.subject}`,
      action: 'logout',
      target: app,
      details: { via: 'sso', issuer: ended.issuer, username: ended.username },
    });
    return this.#endSession(app, idTokenHint);
  }

  async #endSession(app: SsoApp, idTokenHint: string | undefined): Promise<SignedOut> {
    const config = await this.configuration().catch(() => undefined);
    if (!config)
      return {
        notice: `${SIGNED_OUT_HERE} The identity provider could not be reached to end its session. ${CLOSE_BROWSER}`,
      };
    if (!config.serverMetadata().end_session_endpoint)
      return {
        notice: `${SIGNED_OUT_HERE} Your identity provider offers no sign-out to Gatehouse, so it may sign you in again without asking. ${CLOSE_BROWSER}`,
      };
    const url = client.buildEndSessionUrl(config, {
      post_logout_redirect_uri: `${this.options.publicUrl}/${app}/`,
      ...(idTokenHint ? { id_token_hint: idTokenHint } : {}),
    });
    return { end_session_url: url.href };
  }

  /** The highest console role the person's groups map to; undefined when none does. */
  roleOf(claims: SignedIn['claims']): Role | undefined {
    const groups = groupsOf(claims[this.options.groupsClaim]);
    return [...ROLES]
      .reverse()
      .find((role) => this.options.roleGroups[role].some((group) => groups.includes(group)));
  }

  /** The user name machines report for this person, by the configured mapping. */
  portalUserOf(claims: SignedIn['claims']): string | undefined {
    const mapping = this.options.portalUser;
    const value =
      mapping === 'email-local-part'
        ? typeof claims.email === 'string' && claims.email_verified !== false
          ? claims.email.split('@')[0]
          : undefined
        : claims[mapping.claim];
    return typeof value === 'string' && value.length > 0 && value.length <= 256 ? value : undefined;
  }

  /** Starts a session for a signed-in person; audited with the provider's subject. */
  async startSession(
    app: SsoApp,
    person: SignedIn,
    identity: { username: string; role: Role | null },
  ): Promise<{ sessionId: string; session: SsoSession }> {
    const started = await this.store.createSession(
      { app, issuer: person.issuer, subject: person.subject, ...identity },
      this.options.sessionHours,
    );
    await audit(this.db, {
      actor: `sso:${person.subject}`,
      action: 'login',
      target: app,
      details: {
        via: 'sso',
        issuer: person.issuer,
        username: identity.username,
        role: identity.role,
      },
    });
    return started;
  }

  async refuse(app: SsoApp, reason: string, subject?: string): Promise<void> {
    await audit(this.db, {
      actor: `sso:${subject ?? 'unknown'}`,
      action: 'login.failed',
      target: app,
      details: { via: 'sso', reason },
    });
  }
}

export const flowCookieOf = (cookies: Record<string, string | undefined>) => cookies[FLOW_COOKIE];

function groupsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((group) => typeof group === 'string') : [];
}

function refusalReason(error: unknown): string {
  // An error the provider sent back, at the callback or from its token endpoint (a code it did
  // not issue: invalid_grant).
  if (
    error instanceof client.AuthorizationResponseError ||
    error instanceof client.ResponseBodyError
  )
    return `the identity provider answered ${error.error}${error.error_description ? ` (${error.error_description})` : ''}`;
  // openid-client's own message is generic ("invalid response encountered"); its cause names
  // the check that failed ("unexpected \"state\" response parameter value").
  const cause = (error as Error).cause;
  return cause instanceof Error ? cause.message : (error as Error).message;
}

/** A short page for a refused sign-in, with nothing from the request in it but escaped text. */
export function refusalPage(reply: FastifyReply, status: number, message: string, back: string) {
  const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return reply
    .code(status)
    .header('content-security-policy', "default-src 'none'; frame-ancestors 'none'")
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(
      `<!doctype html><html lang="en"><meta charset="utf-8"><title>Sign-in refused · Gatehouse</title>` +
        `<main><h1>Sign-in refused</h1><p role="alert">${escape(message)}</p>` +
        `<p><a href="${escape(back)}">Back to the sign-in page</a></p></main></html>`,
    );
}

export const singleSignOn = fp<{ sso?: SsoOptions }>(
  async (app, { sso }) => {
    app.decorate('sso', sso ? new SingleSignOn(sso, app.db) : undefined);
  },
  { name: 'single-sign-on', dependencies: ['repositories'] },
);
