// Fleet posture in the helpdesk console, in Chromium against the real backend: counts per check,
// the machines behind a count, one machine's results; and the requesting machine's posture on a
// request's detail.
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PostureResult } from '../../../../../common/posture';
import { screenshotPath } from '../../../../helpers/chromium';
import { fileRequest } from '../../../../helpers/console-fixtures';
import {
  logIntoConsole,
  openRequestInConsole,
  useConsoleInChromium,
} from '../../../../helpers/console-page';

const result = (
  id: string,
  title: string,
  status: PostureResult['status'],
  evidence: string,
): PostureResult => ({
  id,
  title,
  status,
  evidence,
  remediation: `Fix: ${title.toLowerCase()}`,
  checkedAt: Date.now(),
});

describe('fleet posture in the console (Chromium)', () => {
  const ui = useConsoleInChromium('helpdesk');

  beforeAll(async () => {
    await ui.repos.machines.enroll('m-ada', { hostname: 'ada-laptop', primary_user: 'ada' });
    await ui.repos.machines.enroll('m-bob', { hostname: 'bob-desktop', primary_user: 'bob' });
    await ui.repos.machines.enroll('m-new', { hostname: 'new-laptop', primary_user: 'cy' });
    await ui.repos.posture.replace('m-ada', [
      result('linux.disk-encryption', 'Disk encryption', 'fail', '/ is ext4 on /dev/nvme0n1p2'),
      result('linux.firewall', 'Firewall', 'pass', 'ufw: Status: active'),
      result('linux.screen-lock', 'Screen lock', 'unknown', 'no desktop session is open'),
    ]);
    await ui.repos.posture.replace('m-bob', [
      result('linux.disk-encryption', 'Disk encryption', 'pass', 'LUKS2 device luks-root'),
      result('linux.firewall', 'Firewall', 'pass', 'ufw: Status: active'),
      result('linux.screen-lock', 'Screen lock', 'pass', 'locks after 300 s idle'),
    ]);
    await fileRequest(ui.repos, 'm-ada', {
      client_request_id: '1',
      requester: 'ada',
      file_sha256: 'c'.repeat(64),
      file_path: '/home/ada/bin',
      file_name: 'deploy-helper',
      justification: 'I need it to deploy the docs site.',
    });
  });
  beforeEach(() => ui.browser.context.clearCookies()); // each test logs in

  it('shows per-check counts, the failing machines, and a machine’s posture', async () => {
    const page = await ui.browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await logIntoConsole(page, ui.base);
    await page
      .getByRole('navigation', { name: 'Console' })
      .getByRole('link', { name: 'Posture' })
      .click();

    const fleet = page.getByRole('region', { name: 'Fleet posture' });
    await expect
      .poll(() => fleet.locator('.reporting').textContent())
      .toContain('2 of 3 machines reporting');
    const row = (id: string) => fleet.locator(`tr[data-check="${id}"] td`).allTextContents();
    expect((await row('linux.disk-encryption')).map((t) => t.trim())).toEqual(['1', '1', '0']);
    expect((await row('linux.firewall')).map((t) => t.trim())).toEqual(['2', '0', '0']);
    expect((await row('linux.screen-lock')).map((t) => t.trim())).toEqual(['1', '0', '1']);

    await fleet.getByRole('button', { name: 'Disk encryption: 1 failing' }).click();
    const machines = fleet.getByRole('region', { name: 'Machines for this check' });
    await expect.poll(() => machines.locator('h3').textContent()).toBe('Disk encryption: failing');
    expect(await machines.locator('li').allTextContents()).toEqual([
      expect.stringContaining('ada-laptop'),
    ]);
    expect(await machines.locator('.evidence').textContent()).toBe('/ is ext4 on /dev/nvme0n1p2');

    await machines.getByRole('button', { name: 'ada-laptop' }).click();
    const posture = fleet.getByRole('region', { name: 'Machine posture' });
    await expect.poll(() => posture.locator('h3').textContent()).toBe('Posture of ada-laptop');
    const failing = posture.locator('li[data-check="linux.disk-encryption"]');
    expect(await failing.locator('.status').textContent()).toBe('fail');
    expect(await failing.locator('.remediation').textContent()).toBe('Fix: disk encryption');
    expect(await posture.locator('li[data-check="linux.firewall"] .remediation').count()).toBe(0);
    await page.screenshot({ path: screenshotPath('console-fleet-posture'), fullPage: true });
    expect(errors).toEqual([]);
  });

  it("shows the requesting machine's posture on the request detail", async () => {
    const page = await ui.browser.context.newPage();
    await openRequestInConsole(page, ui.base, 'deploy-helper');
    const posture = page.getByRole('region', { name: 'Machine posture' });
    await expect.poll(() => posture.locator('h3').textContent()).toBe('Posture of ada-laptop');
    expect(
      await posture.locator('li[data-check="linux.disk-encryption"] .evidence').textContent(),
    ).toBe('/ is ext4 on /dev/nvme0n1p2');
    expect(await posture.locator('li').count()).toBe(3);
    await page.screenshot({ path: screenshotPath('console-request-posture'), fullPage: true });
  });

  it("shows a machine's posture on its page", async () => {
    const page = await ui.browser.context.newPage();
    await logIntoConsole(page, ui.base, 'grace', 'helpdesk-password-1', '/console/machines/m-bob');
    const posture = page.getByRole('region', { name: 'Machine posture' });
    await expect.poll(() => posture.locator('h3').textContent()).toBe('Posture of bob-desktop');
    expect(await posture.locator('li[data-check="linux.screen-lock"] .status').textContent()).toBe(
      'pass',
    );
  });

  it('says when a machine has not reported yet', async () => {
    await fileRequest(ui.repos, 'm-new', {
      client_request_id: '2',
      requester: 'cy',
      file_sha256: 'd'.repeat(64),
      file_path: '/tmp',
      file_name: 'fresh-installer',
      justification: 'Setting up my new laptop.',
    });
    const page = await ui.browser.context.newPage();
    await openRequestInConsole(page, ui.base, 'fresh-installer');
    const posture = page.getByRole('region', { name: 'Machine posture' });
    await expect
      .poll(() => posture.locator('p').first().textContent())
      .toBe('This machine has not reported its posture yet.');
  });
});
