// Single sign-on settings, read from the environment by server.ts: which identity provider, how
// its groups become console roles, how its claims name an employee in the portal, and whether
// local password logins remain (break-glass admins only, or none).
import type { Role } from '../db/users';

export type SsoApp = 'console' | 'portal';

/** How the portal turns a signed-in person's claims into the user name machines report. */
export type PortalUserMapping = { readonly claim: string } | 'email-local-part';

/** With single sign-on on: `break-glass` lets local admin accounts log in, `off` nobody. */
export type LocalLogin = 'on' | 'break-glass' | 'off';

export interface SsoOptions {
  /** The identity provider's issuer URL (https; http only on loopback, for tests). */
  readonly issuer: string;
  readonly clientId: string;
  /** Absent: a public client, protected by PKCE alone. */
  readonly clientSecret?: string;
  /** Where browsers reach this server; the redirect URIs are below it. */
  readonly publicUrl: string;
  readonly scopes: string;
  readonly groupsClaim: string;
  /** The groups whose members get each role; the highest role a person's groups give wins. */
  readonly roleGroups: Readonly<Record<Role, readonly string[]>>;
  readonly portalUser: PortalUserMapping;
  readonly localLogin: LocalLogin;
  readonly sessionHours: number;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

function checkedUrl(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`server: ${name} must be a URL, got "${value}"`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname)))
    throw new Error(
      `server: ${name} must be an https URL (http only on 127.0.0.1), got "${value}"`,
    );
  return url.href.replace(/\/$/, '');
}

const groupList = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((group) => group.trim())
    .filter(Boolean);

function portalMapping(value: string): PortalUserMapping {
  if (value === 'email-local-part') return value;
  const claim = /^claim:([A-Za-z0-9_.:-]{1,64})$/.exec(value)?.[1];
  if (!claim)
    throw new Error(
      `server: GATEHOUSE_OIDC_PORTAL_USER must be "email-local-part" or "claim:NAME", got "${value}"`,
    );
  return { claim };
}

function localLogin(value: string): LocalLogin {
  if (value === 'break-glass' || value === 'off') return value;
  throw new Error(`server: GATEHOUSE_LOCAL_LOGIN must be "break-glass" or "off", got "${value}"`);
}

function sessionHours(value: string): number {
  const hours = Number(value);
  if (!Number.isInteger(hours) || hours < 1 || hours > 24)
    throw new Error(`server: GATEHOUSE_SSO_SESSION_HOURS must be 1 to 24, got "${value}"`);
  return hours;
}

/** Single sign-on from GATEHOUSE_OIDC_*; undefined when no issuer is set (local logins only). */
export function ssoFromEnv(env: NodeJS.ProcessEnv): SsoOptions | undefined {
  if (!env.GATEHOUSE_OIDC_ISSUER) return undefined;
  const clientId = env.GATEHOUSE_OIDC_CLIENT_ID;
  if (!clientId)
    throw new Error('server: GATEHOUSE_OIDC_ISSUER is set: set GATEHOUSE_OIDC_CLIENT_ID');
  if (!env.GATEHOUSE_PUBLIC_URL)
    throw new Error(
      'server: single sign-on needs GATEHOUSE_PUBLIC_URL, the URL browsers reach this server at',
    );
  const roleGroups = {
    admin: groupList(env.GATEHOUSE_OIDC_ADMIN_GROUPS),
    helpdesk: groupList(env.GATEHOUSE_OIDC_HELPDESK_GROUPS),
    viewer: groupList(env.GATEHOUSE_OIDC_VIEWER_GROUPS),
  };
  return {
    issuer: checkedUrl('GATEHOUSE_OIDC_ISSUER', env.GATEHOUSE_OIDC_ISSUER),
    clientId,
    ...(env.GATEHOUSE_OIDC_CLIENT_SECRET ? { clientSecret: env.GATEHOUSE_OIDC_CLIENT_SECRET } : {}),
    publicUrl: checkedUrl('GATEHOUSE_PUBLIC_URL', env.GATEHOUSE_PUBLIC_URL),
    scopes: env.GATEHOUSE_OIDC_SCOPES ?? 'openid email profile',
    groupsClaim: env.GATEHOUSE_OIDC_GROUPS_CLAIM ?? 'groups',
    roleGroups,
    portalUser: portalMapping(env.GATEHOUSE_OIDC_PORTAL_USER ?? 'claim:preferred_username'),
    localLogin: localLogin(env.GATEHOUSE_LOCAL_LOGIN ?? 'off'),
    sessionHours: sessionHours(env.GATEHOUSE_SSO_SESSION_HOURS ?? '8'),
  };
}
