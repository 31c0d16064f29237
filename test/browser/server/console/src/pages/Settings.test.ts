// Settings profiles in the console, in Chromium against the real backend: an admin puts a tag's
// machines in LOCKDOWN from the keyboard, a refused value is shown as the server said it, the
// machine page shows each effective setting and where it came from, and its file access events;
// a viewer sees the profiles without the editor.
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { screenshotPath } from '../../../../../helpers/chromium';
import { CONSOLE_ACCOUNTS } from '../../../../../helpers/console-fixtures';
import { logIntoConsole, useConsoleInChromium } from '../../../../../helpers/console-page';

describe('settings in the console (Chromium)', () => {
  const ui = useConsoleInChromium('admin', 'viewer');

  beforeAll(async () => {
    await ui.repos.machines.enroll('mac-7', { hostname: 'ada-mac', tags: ['finance'] });
    await ui.repos.settings.put(
      { scope: 'global', value: '', priority: 0, values: { enable_bundles: true } },
      'root',
    );
    await ui.repos.fileAccess.ingest('mac-7', [
      {
        rule_name: 'ChromeCookies',
        rule_version: 'v3',
        target: '/Users/ada/Library/Cookies/Cookies.binarycookies',
        decision: 'FILE_ACCESS_DECISION_DENIED',
        access_time: 1_790_000_000,
        process_chain: [{ file_path: '/tmp/stealer', pid: 77 }],
      },
    ]);
  });
  beforeEach(() => ui.browser.context.clearCookies());

  it('lets an admin set a tag profile and shows where each machine setting comes from', async () => {
    const page = await ui.browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const { username, password } = CONSOLE_ACCOUNTS.admin;
    await logIntoConsole(page, ui.base, username, password, '/console/settings');
    await page.getByRole('heading', { level: 2, name: 'Settings' }).waitFor();
    await page.getByLabel('Applies to').selectOption('tag');
    await page.getByLabel('Tag', { exact: true }).fill('finance');
    await page.getByLabel('Client mode').selectOption('LOCKDOWN');
    // A regex that does not compile is refused with the server's reason; nothing is saved.
    await page.getByLabel('Allowed path regex').fill('^/opt/(tools');
    await page.getByLabel('Allowed path regex').press('Enter');
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toMatch(/allowed_path_regex is not a regular expression/);
    expect(await ui.repos.settings.get('tag', 'finance')).toBeUndefined();
    await page.getByLabel('Allowed path regex').fill('^/opt/tools/');
    await page.getByLabel('Allowed path regex').press('Enter');
    await page.getByRole('status').filter({ hasText: 'Saved: Tag finance' }).waitFor();
    expect((await ui.repos.settings.get('tag', 'finance'))?.values).toEqual({
      client_mode: 'LOCKDOWN',
      allowed_path_regex: '^/opt/tools/',
    });
    await page.screenshot({ path: screenshotPath('console-settings'), fullPage: true });

    await page.goto(`${ui.base}/console/machines/mac-7`);
    const settings = page.getByRole('region', { name: 'Settings it is sent' });
    const row = (key: string) => settings.locator(`tr[data-setting="${key}"]`);
    await row('client_mode').waitFor();
    expect(await row('client_mode').innerText()).toMatch(/LOCKDOWN\s+tag finance/);
    expect(await row('enable_bundles').innerText()).toMatch(/on\s+global profile/);
    expect(await row('batch_size').innerText()).toMatch(/50\s+server default/);
    const access = page.getByRole('region', { name: 'File access events' });
    expect(await access.innerText()).toMatch(/denied\s+ChromeCookies \(v3\)/);
    expect(await access.innerText()).toContain('/tmp/stealer (pid 77)');
    await page.screenshot({ path: screenshotPath('console-machine-settings'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows a viewer the profiles without the editor or remove buttons', async () => {
    const page = await ui.browser.context.newPage();
    const { username, password } = CONSOLE_ACCOUNTS.viewer;
    await logIntoConsole(page, ui.base, username, password, '/console/settings');
    await page.locator('tr[data-profile="global:"]').waitFor();
    expect(await page.locator('tr[data-profile="global:"]').innerText()).toContain(
      'Bundle scanning: on',
    );
    expect(await page.getByRole('form', { name: 'Set a profile' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /Remove/ }).count()).toBe(0);
    await page.close();
  });
});
