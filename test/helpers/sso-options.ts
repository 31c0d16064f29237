// Single sign-on settings for a test backend, apart from the provider itself so that a user of
// these alone (bench:ui) does not load oidc-provider.
import type { SsoOptions } from '../../server/auth/sso-config';

export const CLIENT_ID = 'gatehouse';
export const CLIENT_SECRET = 'gatehouse-client-secret-for-tests';

/** The single sign-on options for a backend at `publicUrl` trusting this provider. */
export function ssoOptions(
  idp: { readonly issuer: string },
  overrides: Partial<SsoOptions> = {},
): { -readonly [K in keyof SsoOptions]: SsoOptions[K] } {
  return {
    issuer: idp.issuer,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    publicUrl: 'http://127.0.0.1:0',
    scopes: 'openid email profile',
    groupsClaim: 'groups',
    roleGroups: { admin: ['it-admins'], helpdesk: ['helpdesk'], viewer: ['auditors'] },
    portalUser: 'email-local-part',
    localLogin: 'off',
    sessionHours: 8,
    ...overrides,
  };
}
