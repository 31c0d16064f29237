// Single sign-on settings from the environment: what is required, what each bad value is told.
import { describe, expect, it } from 'vitest';
import { ssoFromEnv } from '../../../../server/auth/sso-config';

const BASE = {
  GATEHOUSE_OIDC_ISSUER: 'https://login.example.com/',
  GATEHOUSE_OIDC_CLIENT_ID: 'gatehouse',
  GATEHOUSE_PUBLIC_URL: 'https://gatehouse.example.com',
};

describe('ssoFromEnv', () => {
  it('is off without an issuer', () => {
    expect(ssoFromEnv({})).toBeUndefined();
  });

  it('reads groups, the portal mapping and the local login policy', () => {
    const sso = ssoFromEnv({
      ...BASE,
      GATEHOUSE_OIDC_ADMIN_GROUPS: 'it-admins, security',
      GATEHOUSE_OIDC_HELPDESK_GROUPS: 'helpdesk',
      GATEHOUSE_OIDC_PORTAL_USER: 'email-local-part',
      GATEHOUSE_LOCAL_LOGIN: 'break-glass',
    });
    expect(sso).toMatchObject({
      issuer: 'https://login.example.com',
      roleGroups: { admin: ['it-admins', 'security'], helpdesk: ['helpdesk'], viewer: [] },
      portalUser: 'email-local-part',
      localLogin: 'break-glass',
      sessionHours: 8,
      scopes: 'openid email profile',
    });
    expect(ssoFromEnv({ ...BASE, GATEHOUSE_OIDC_PORTAL_USER: 'claim:upn' })?.portalUser).toEqual({
      claim: 'upn',
    });
  });

  it.each([
    [{ GATEHOUSE_OIDC_ISSUER: 'http://login.example.com' }, /https URL \(http only on 127.0.0.1\)/],
    [{ GATEHOUSE_OIDC_CLIENT_ID: '' }, /set GATEHOUSE_OIDC_CLIENT_ID/],
    [{ GATEHOUSE_PUBLIC_URL: '' }, /needs GATEHOUSE_PUBLIC_URL/],
    [{ GATEHOUSE_OIDC_PORTAL_USER: 'upn' }, /"email-local-part" or "claim:NAME", got "upn"/],
    [{ GATEHOUSE_LOCAL_LOGIN: 'on' }, /"break-glass" or "off", got "on"/],
    [{ GATEHOUSE_SSO_SESSION_HOURS: '48' }, /1 to 24, got "48"/],
  ])('refuses %o, saying what is allowed', (change, message) => {
    expect(() => ssoFromEnv({ ...BASE, ...change })).toThrow(message);
  });
});
