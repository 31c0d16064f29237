// The helpdesk console in Chromium against the real backend: log in, open the oldest pending
// request, approve it for this machine; the approval and its rule are in the database.
import { beforeAll, describe, expect, it } from 'vitest';
import { screenshotPath } from '../../../../helpers/chromium';
import { fileRequest } from '../../../../helpers/console-fixtures';
import {
  openRequestInConsole,
  useConsoleInChromium,
  submitConsoleLogin,
} from '../../../../helpers/console-page';

describe('helpdesk console in Chromium', () => {
  const ui = useConsoleInChromium('helpdesk');

  beforeAll(async () => {
    await ui.repos.machines.enroll('ada-laptop', {
      primary_user: 'ada',
      hostname: 'ada-laptop.example',
    });
  });

  it('approves the pending request with two clicks after logging in', async () => {
    const row = await fileRequest(ui.repos, 'ada-laptop', {
      client_request_id: '1',
      requester: 'ada',
      file_sha256: 'b'.repeat(64),
      file_path: '/home/ada/bin',
      file_name: 'release-tool',
      justification: 'I need this to cut the release tonight.',
    });
    const page = await ui.browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await openRequestInConsole(page, ui.base, 'release-tool');
    await expect
      .poll(() => page.locator('.justification').textContent())
      .toBe('I need this to cut the release tonight.');
    await page.screenshot({ path: screenshotPath('console-request') });
    await page.getByRole('button', { name: 'Approve' }).click();
    await expect
      .poll(() => page.getByRole('status').textContent())
      .toBe(`Request ${row.id} is now approved.`);
    expect(await ui.repos.requests.get(row.id)).toMatchObject({
      state: 'approved',
      decided_by: 'grace',
    });
    const rules = await ui.repos.rules.changesFor(
      'ada-laptop',
      0,
      await ui.repos.rules.currentVersion(),
      0,
      10,
      true,
    );
    expect(rules).toContainEqual(
      expect.objectContaining({
        identifier: 'b'.repeat(64),
        policy: 'ALLOWLIST',
        scope: 'machine',
      }),
    );
    expect(errors).toEqual([]);
  });

  it('shows a wrong password as an error, and serves its pages with a strict CSP', async () => {
    const response = await fetch(`${ui.base}/console`);
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    await ui.browser.context.clearCookies(); // signed out
    const page = await ui.browser.context.newPage();
    await submitConsoleLogin(page, ui.base, 'grace', 'not-the-password');
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toBe('wrong username or password');
  });
});
