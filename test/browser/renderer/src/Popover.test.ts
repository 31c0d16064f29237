import { describe, expect, it } from 'vitest';
import type { AppState } from '../../../../common/ipc';
import type { PostureResult } from '../../../../common/posture';
import { screenshotPath } from '../../../helpers/chromium';
import {
  exposeGatehouseApi,
  useMenuBarOnAgent,
  useRendererInChromium,
} from '../../../helpers/menu-bar';
import { until } from '../../../helpers/wait';

describe('popover in Chromium', () => {
  const renderer = useRendererInChromium();

  /** The popover of a main process that answers with this state. */
  async function popoverShowing(state: AppState) {
    const page = await renderer.browser.context.newPage();
    await exposeGatehouseApi(page, async (_url, channel) => {
      if (channel === 'gatehouse:get-state') return state;
      throw new Error(`unexpected ${channel}`);
    });
    await page.goto(renderer.site.url);
    return page;
  }

  it('says the agent is not running when the page has no preload API', async () => {
    const page = await renderer.browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(renderer.site.url);
    await expect.poll(() => page.getByRole('status').textContent()).toBe('Agent not running');
    expect(await page.locator('h1').textContent()).toBe('Gatehouse');
    await page.screenshot({ path: screenshotPath('popover-unreachable') });
    expect(errors).toEqual([]);
  });

  it('lists the posture checks the agent reports, with one line of remediation each', async () => {
    const posture: PostureResult[] = [
      {
        id: 'linux.disk-encryption',
        title: 'Disk encryption',
        status: 'fail',
        evidence: 'lsblk: no crypt device under /',
        remediation: 'Ask IT to encrypt this disk.',
        checkedAt: Date.now(),
      },
      {
        id: 'linux.firewall',
        title: 'Firewall',
        status: 'pass',
        evidence: 'nft: 3 rules',
        remediation: 'Turn the firewall on.',
        checkedAt: Date.now(),
      },
      { id: 'broken', title: 7 } as unknown as PostureResult,
    ];
    const state: AppState = {
      status: { reachable: true, mode: 'MONITOR', monitorRunning: true, posture },
      blocks: [],
      requests: [],
      appVersion: '1.2.3',
    };
    const page = await popoverShowing(state);
    await expect.poll(() => page.getByRole('status').textContent()).toBe('Monitoring only');
    const checks = page.locator('.posture li');
    await expect.poll(() => checks.count()).toBe(2);
    expect(await checks.nth(0).innerText()).toBe(
      'Fail\nDisk encryption\nAsk IT to encrypt this disk.',
    );
    expect(await checks.nth(1).innerText()).toBe('Pass\nFirewall');
    expect(await page.locator('.version').textContent()).toBe('Version 1.2.3');
  });

  it('shows a program built here, naming the compiler that built it', async () => {
    const built = {
      id: 7,
      fileName: 'hello',
      filePath: '/home/dev/src',
      sha256: 'ab'.repeat(32),
      user: 'dev',
      parentName: 'sh',
      ppid: 1,
      decision: 'ALLOW_TRANSITIVE',
      package: null,
      executionTime: Date.now() / 1000,
      occurrences: 1,
      builtBy: '/usr/bin/x86_64-linux-gnu-ld.bfd',
    };
    const state: AppState = {
      status: { reachable: true, mode: 'LOCKDOWN', monitorRunning: true },
      blocks: [],
      requests: [],
      built: [built],
      appVersion: '1.2.3',
    };
    const page = await popoverShowing(state);
    const section = page.locator('section', { hasText: 'Built here' });
    await expect.poll(() => section.locator('li').count()).toBe(1);
    expect(await section.locator('li').innerText()).toMatch(
      /^hello\s+just now\s+built here by x86_64-linux-gnu-ld\.bfd$/,
    );
  });

  describe('with a real agent behind the control socket', () => {
    const ui = useMenuBarOnAgent(renderer);

    it("shows the agent's protection, mode and sync, and follows a mode change", async () => {
      const page = await ui.menuBar.popover();
      await expect.poll(() => page.getByRole('status').textContent()).toBe('Protected');
      expect(await page.locator('.mode').textContent()).toBe(
        'Lockdown: unknown programs are blocked',
      );
      expect(ui.menuBar.tray.image).toEqual({ protection: 'protected', pending: false });
      expect(ui.menuBar.tray.tooltip).toBe('Gatehouse: Protected');
      // The agent in this build reports no posture yet.
      expect(await page.locator('section', { hasText: 'This machine' }).innerText()).toContain(
        'No checks reported yet',
      );
      await expect
        .poll(() => page.locator('.last-sync').textContent())
        .toContain('Last sync: just now');
      expect(
        await page.locator('section', { hasText: 'Recent blocks' }).locator('.empty').textContent(),
      ).toBe('Nothing was blocked.');

      await page.emulateMedia({ colorScheme: 'light' });
      await page.screenshot({ path: screenshotPath('popover-light') });
      await page.emulateMedia({ colorScheme: 'dark' });
      const dark = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      expect(dark).not.toBe('rgb(255, 255, 255)');
      await page.screenshot({ path: screenshotPath('popover-dark') });
      await page.emulateMedia({ colorScheme: 'light' });

      ui.stack.agent.setMode('MONITOR');
      await expect.poll(() => page.getByRole('status').textContent()).toBe('Monitoring only');
      expect(ui.menuBar.tray.image).toEqual({ protection: 'monitor-only', pending: false });
      ui.stack.agent.setMode('LOCKDOWN');
      await expect.poll(() => page.getByRole('status').textContent()).toBe('Protected');
    });

    it('says "agent not running" when the socket goes away, and recovers when it is back', async () => {
      const page = await ui.menuBar.popover();
      await expect.poll(() => page.getByRole('status').textContent()).toBe('Protected');
      // Sync now goes through the socket to the agent's scheduler.
      await page.getByRole('button', { name: 'Sync now' }).click();
      await expect.poll(() => page.locator('.note').textContent()).toBe('Sync started');
      await ui.stack.restartControl();
      await until(() => !ui.menuBar.app.model.status.reachable, 'the menu bar to notice');
      await expect.poll(() => page.getByRole('status').textContent()).toBe('Agent not running');
      expect(ui.menuBar.logs[0]).toBe(
        'gatehouse: the service is not reachable: the service closed the connection',
      );
      expect(ui.menuBar.tray.image).toEqual({ protection: 'unreachable', pending: false });
      await expect
        .poll(() => page.getByRole('status').textContent(), { timeout: 10_000 })
        .toBe('Protected');
    });
  });
});
