// The machine page's rules in Chromium against the real backend: the rule the machine holds and
// the one it shadows, and the helpdesk ordering a clean sync for the machine's next sync.
import { beforeAll, describe, expect, it } from 'vitest';
import { screenshotPath } from '../../../../helpers/chromium';
import { logIntoConsole, useConsoleInChromium } from '../../../../helpers/console-page';

describe('machine rules in Chromium', () => {
  const ui = useConsoleInChromium('helpdesk', 'viewer');
  const target = 'e'.repeat(64);
  let allow = 0;
  let block = 0;

  beforeAll(async () => {
    await ui.repos.machines.enroll('m-cy', { hostname: 'cy-laptop.example' });
    // A machine that has synced owes no clean sync until one is ordered.
    await ui.repos.machines.update('m-cy', { clean_requested: 0 });
    allow = await ui.repos.rules.put({
      identifier: target,
      rule_type: 'BINARY',
      policy: 'ALLOWLIST',
      scope: 'global',
      created_by: 'test',
    });
    block = await ui.repos.rules.put({
      identifier: target,
      rule_type: 'BINARY',
      policy: 'BLOCKLIST',
      scope: 'machine',
      scope_value: 'm-cy',
      created_by: 'test',
    });
  });

  it('marks the shadowed rule, and the helpdesk orders a clean sync', async () => {
    await ui.browser.context.clearCookies();
    const page = await ui.browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await logIntoConsole(page, ui.base, 'grace', 'helpdesk-password-1', '/console/machines/m-cy');
    await page.getByRole('heading', { level: 2, name: 'cy-laptop.example' }).waitFor();
    const rows = page.locator('table.machine-rules tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    expect(await page.locator('table.machine-rules tr.shadowed').textContent()).toContain(
      `shadowed by rule ${block}`,
    );
    expect(await rows.allTextContents()).toEqual(
      expect.arrayContaining([expect.stringMatching(/^BLOCKLIST.*held/)]),
    );
    expect(allow).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Clean sync on next sync' }).click();
    await expect
      .poll(() => page.locator('.clean-sync').textContent())
      .toContain('A clean sync is due');
    expect((await ui.repos.machines.get('m-cy'))?.clean_requested).toBe(1);
    await page.screenshot({ path: screenshotPath('console-machine-rules'), fullPage: true });
    expect(errors).toEqual([]);
  });

  it('offers a viewer no clean sync button', async () => {
    await ui.repos.machines.update('m-cy', { clean_requested: 0 });
    await ui.browser.context.clearCookies();
    const page = await ui.browser.context.newPage();
    await logIntoConsole(page, ui.base, 'vera', 'viewer-password-1', '/console/machines/m-cy');
    await page.getByRole('heading', { level: 2, name: 'cy-laptop.example' }).waitFor();
    await page.locator('table.machine-rules tbody tr').first().waitFor();
    expect(await page.getByRole('button', { name: 'Clean sync on next sync' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /compiler-made rules too/ }).count()).toBe(0);
  });

  it('the helpdesk orders a CLEAN_ALL with the keyboard, and the page says what goes', async () => {
    await ui.repos.machines.update('m-cy', { clean_requested: 0, clean_all_requested: 0 });
    await ui.browser.context.clearCookies();
    const page = await ui.browser.context.newPage();
    await logIntoConsole(page, ui.base, 'grace', 'helpdesk-password-1', '/console/machines/m-cy');
    const button = page.getByRole('button', { name: 'Clean sync, compiler-made rules too' });
    await button.focus();
    await page.keyboard.press('Enter');
    await expect
      .poll(() => page.locator('.clean-sync').textContent())
      .toContain('the rules its compilers made');
    expect(await ui.repos.machines.get('m-cy')).toMatchObject({
      clean_requested: 1,
      clean_all_requested: 1,
    });
  });
});
