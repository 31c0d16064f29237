// How claims become a console role and a portal user name, by configuration.
import { describe, expect, it } from 'vitest';
import type { SsoOptions } from '../../../../server/auth/sso-config';
import type { Db } from '../../../../server/db/connect';
import { SingleSignOn } from '../../../../server/plugins/oidc';

const OPTIONS: SsoOptions = {
  issuer: 'https://login.example.com',
  clientId: 'gatehouse',
  publicUrl: 'https://gatehouse.example.com',
  scopes: 'openid email profile',
  groupsClaim: 'roles',
  roleGroups: { admin: ['it-admins'], helpdesk: ['helpdesk'], viewer: ['auditors'] },
  portalUser: { claim: 'upn' },
  localLogin: 'off',
  sessionHours: 8,
};
// Mapping reads no database.
const sso = (options: Partial<SsoOptions> = {}) =>
  new SingleSignOn({ ...OPTIONS, ...options }, {} as Db);

describe('claim mapping', () => {
  it('gives the highest role any of the groups maps to, from the configured claim', () => {
    expect(sso().roleOf({ roles: ['auditors', 'helpdesk'] })).toBe('helpdesk');
    expect(sso().roleOf({ roles: ['auditors', 'it-admins'] })).toBe('admin');
    expect(sso().roleOf({ roles: 'auditors' })).toBe('viewer');
    expect(sso().roleOf({ roles: ['staff'], groups: ['it-admins'] })).toBeUndefined();
    expect(sso().roleOf({ roles: [{ name: 'it-admins' }] })).toBeUndefined();
  });

  it('names the portal user by a claim or by the e-mail local part', () => {
    expect(sso().portalUserOf({ upn: 'ada', email: 'x@example.com' })).toBe('ada');
    expect(sso().portalUserOf({ email: 'ada@example.com' })).toBeUndefined();
    const byEmail = sso({ portalUser: 'email-local-part' });
    expect(byEmail.portalUserOf({ email: 'ada@example.com' })).toBe('ada');
    expect(
      byEmail.portalUserOf({ email: 'ada@example.com', email_verified: false }),
    ).toBeUndefined();
    expect(byEmail.portalUserOf({ email: 42 })).toBeUndefined();
  });
});
