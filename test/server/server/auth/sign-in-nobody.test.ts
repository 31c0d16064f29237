// A person the identity provider vouches for but an app cannot name: that app refuses the sign-in
// with a page that says why and whom to ask, audits the refusal and starts no session.
import { describe, expect, it } from 'vitest';
import { auditEntries } from '../../../helpers/audit';
import { SSO_ACCOUNTS, ssoSignIn, startSsoStack } from '../../../helpers/oidc-provider';
import { useStarted } from '../../../helpers/scratch';

describe('a sign-in of someone the app cannot name', () => {
  const stack = useStarted(() =>
    startSsoStack(
      'sqlite',
      {},
      { ...SSO_ACCOUNTS, 'sub-nomail': { preferred_username: 'nomail', groups: ['staff'] } },
    ),
  );

  it('is refused by the portal when the account carries no user name', async () => {
    const attempt = await ssoSignIn(stack.base, 'portal', 'sub-nomail');
    expect(attempt.response.status).toBe(403);
    expect(await attempt.response.text()).toContain('ask IT to check the single sign-on mapping');
    expect(attempt.jar.get('gh_portal')).toBeUndefined();
    const refusals = await auditEntries(stack.server.db, {
      actor: 'sso:sub-nomail',
      action: 'login.failed',
    });
    expect(refusals.map((entry) => entry.target)).toEqual(['portal']);
  });

  it('lets in a person whose account carries an email, on the same stack', async () => {
    const attempt = await ssoSignIn(stack.base, 'portal', 'sub-ada');
    expect(attempt.response.status).toBe(303);
    expect(attempt.jar.get('gh_portal')).toBeDefined();
  });
});
