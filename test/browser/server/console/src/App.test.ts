// The helpdesk console in Chromium against the real backend: log in, open the oldest pending
// request, approve it for this machine; the approval and its rule are in the database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Repositories } from '../../../../../server/app';
import { screenshotPath } from '../../../../helpers/chromium';
import { createConsoleAccounts, fileRequest } from '../../../../helpers/console-fixtures';
import {
  openRequestInConsole,
  startConsoleInChromium,
  type Chromium,
  submitConsoleLogin,
} from '../../../../helpers/console-page';
import type { TestServer } from '../../../../helpers/server';

describe('helpdesk console in Chromium', () => {
  let server: TestServer;
  let repos: Repositories;
  let base: string;
  let browser: Chromium;

  beforeAll(async () => {
    ({ server, browser } = await startConsoleInChromium());
    ({ repos, base } = server);
    await createConsoleAccounts(repos, 'helpdesk');
    await repos.machines.enroll('ada-laptop', {
      primary_user: 'ada',
      hostname: 'ada-laptop.example',
    });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('approves the pending request with two clicks after logging in', async () => {
    const row = await fileRequest(repos, 'ada-laptop', {
      client_request_id: '1',
      requester: 'ada',
      file_sha256: 'b'.repeat(64),
      file_path: '/home/ada/bin',
      file_name: 'release-tool',
      justification: 'I need this to cut the release tonight.',
    });
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await openRequestInConsole(page, base, 'release-tool');
    await expect
      .poll(() => page.locator('.justification').textContent())
      .toBe('I need this to cut the release tonight.');
    await page.screenshot({ path: screenshotPath('console-request') });
    await page.getByRole('button', { name: 'Approve' }).click();
    await expect
      .poll(() => page.getByRole('status').textContent())
      .toBe(`Request ${row.id} is now approved.`);
    expect(await repos.requests.get(row.id)).toMatchObject({
      state: 'approved',
      decided_by: 'grace',
    });
    const rules = await repos.rules.changesFor(
      'ada-laptop',
      0,
      await repos.rules.currentVersion(),
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
    const response = await fetch(`${base}/console`);
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    await browser.context.clearCookies(); // signed out
    const page = await browser.context.newPage();
    await submitConsoleLogin(page, base, 'grace', 'not-the-password');
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toBe('wrong username or password');
  });
});
