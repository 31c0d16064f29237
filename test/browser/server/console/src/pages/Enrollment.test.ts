// The Enrollment page in Chromium against the real backend: an admin sees a claim on an enrolled
// machine id beside what the id is bound to, approves one and rejects another (audited), and
// puts a machine's claimed tags in force; helpdesk sees the same without the buttons.
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditEntries } from '../../../../../helpers/audit';
import { screenshotPath } from '../../../../../helpers/chromium';
import { CONSOLE_ACCOUNTS } from '../../../../../helpers/console-fixtures';
import { logIntoConsole, useConsoleInChromium } from '../../../../../helpers/console-page';

describe('enrollment conflicts in the console (Chromium)', () => {
  const ui = useConsoleInChromium('admin', 'helpdesk');
  const claim = (machineId: string, key: string, serial: string) =>
    ui.server.app.enrollment.repo.enrollAgent(
      {
        machineId,
        address: '192.0.2.7',
        keyHash: key,
        serial,
        claims: { hostname: `${serial}-host` },
      },
      { serial_num: serial, hostname: `${serial}-host` },
    );

  beforeAll(async () => {
    await claim('mac-approve', 'a'.repeat(64), 'REAL-1');
    await claim('mac-approve', 'b'.repeat(64), 'CLAIM-1');
    await claim('mac-reject', 'c'.repeat(64), 'REAL-2');
    await claim('mac-reject', 'd'.repeat(64), 'CLAIM-2');
    await ui.server.app.enrollment.repo.enrollAgent(
      { machineId: 'mac-tags', address: '192.0.2.8', claims: {} },
      { tags: ['laptops'] },
    );
  });
  beforeEach(() => ui.browser.context.clearCookies());

  it('lets an admin approve and reject claims and put claimed tags in force', async () => {
    const page = await ui.browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const admin = CONSOLE_ACCOUNTS.admin;
    await logIntoConsole(page, ui.base, admin.username, admin.password);
    await page
      .getByRole('navigation', { name: 'Console' })
      .getByRole('link', { name: 'Enrollment' })
      .click();
    const section = page.getByRole('region', { name: 'Enrollment' });
    const row = (machineId: string) => section.locator('tr[data-conflict]', { hasText: machineId });
    await expect.poll(() => row('mac-approve').textContent()).toContain('serial REAL-1');
    expect(await row('mac-approve').textContent()).toContain('serial CLAIM-1');
    expect(await row('mac-approve').textContent()).toContain('hostname: CLAIM-1-host');
    await page.screenshot({ path: screenshotPath('console-enrollment'), fullPage: true });

    await row('mac-approve').getByRole('button', { name: 'Approve' }).click();
    await expect
      .poll(() => section.getByRole('status').textContent())
      .toBe('Approved the claim on mac-approve.');
    await row('mac-reject').getByRole('button', { name: 'Reject' }).click();
    await expect
      .poll(() => section.getByRole('status').textContent())
      .toBe('Rejected the claim on mac-reject.');
    expect(await section.locator('tr[data-conflict]').count()).toBe(0);

    await section.getByRole('button', { name: 'Put claimed tags in force' }).click();
    await expect
      .poll(() => section.getByRole('status').textContent())
      .toBe('Tags of mac-tags: laptops.');
    expect(JSON.parse((await ui.repos.machines.get('mac-tags'))!.tags)).toEqual(['laptops']);

    const audit = (await auditEntries(ui.server.db, { actor: admin.username }))
      .filter((entry) => entry.target.startsWith('machine:'))
      .map(({ actor, action, target }) => ({ actor, action, target }));
    expect(audit).toEqual([
      { actor: admin.username, action: 'enroll.conflict.approve', target: 'machine:mac-approve' },
      { actor: admin.username, action: 'enroll.conflict.reject', target: 'machine:mac-reject' },
      { actor: admin.username, action: 'machine.tags', target: 'machine:mac-tags' },
    ]);
    expect(errors).toEqual([]);
  });

  it('shows helpdesk the conflicts without the buttons', async () => {
    await claim('mac-help', 'e'.repeat(64), 'REAL-3');
    await claim('mac-help', 'f'.repeat(64), 'CLAIM-3');
    const page = await ui.browser.context.newPage();
    await logIntoConsole(page, ui.base);
    await page.goto(`${ui.base}/console/enrollment`);
    const section = page.getByRole('region', { name: 'Enrollment' });
    await expect.poll(() => section.locator('tr[data-conflict]').count()).toBe(1);
    expect(await section.getByRole('button', { name: 'Approve' }).count()).toBe(0);
  });
});
