// The console's pages in Chromium against the real backend: the queue filtered through the UI and
// through a shared link, a request's signer and history, a machine opened from the search, a rule
// created and removed with the keyboard and clicks, and the audit log filtered; light and dark.
import { basename } from 'node:path';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { screenshotPath } from '../../../../helpers/chromium';
import { enrollAdaAndBob, fileAgedRequests } from '../../../../helpers/console-fixtures';
import { logIntoConsole, useConsoleInChromium } from '../../../../helpers/console-page';
const TEAM = 'ABCDE12345';

describe('console pages in Chromium', () => {
  const ui = useConsoleInChromium('helpdesk', 'admin', 'viewer');
  let ids: Record<string, number> = {};
  const errors: string[] = [];

  async function freshPage(): Promise<Page> {
    await ui.browser.context.clearCookies();
    const page = await ui.browser.context.newPage();
    page.on('pageerror', (error) => errors.push(error.message));
    return page;
  }

  /** Follows the link to a request and waits for its justification to show. */
  async function openJustification(page: Page, link: string, justification: string) {
    await page.getByRole('link', { name: link }).click();
    await expect.poll(() => page.locator('.justification').textContent()).toBe(justification);
  }

  /** An unknown binary a machine blocked and uploaded, run by its only logged-in user. */
  const blockedRun = (user: string, path: string, sha256: string, executionTime: number) => ({
    file_sha256: sha256,
    file_path: path,
    file_name: basename(path),
    executing_user: user,
    execution_time: executionTime,
    decision: 'BLOCK_UNKNOWN' as const,
    logged_in_users: [user],
    current_sessions: [],
  });

  const rowTexts = (page: Page, table: string) =>
    page.locator(`table.${table} tbody tr`).allTextContents();

  beforeAll(async () => {
    await enrollAdaAndBob(ui.repos, { bob: { client_mode: 'MONITOR' } });
    const now = Date.now();
    ids = await fileAgedRequests(
      ui.repos,
      [
        ['m-ada', 'signed-old', 'ada', 'signed-tool', 'a'.repeat(64), 30],
        ['m-ada', 'plain', 'ada', 'plain-tool', 'b'.repeat(64), 10],
        ['m-bob', 'signed-new', 'bob', 'signed-tool', 'a'.repeat(64), 2],
      ],
      (file) => `I need ${file} for work.`,
      now,
    );
    await ui.repos.requests.deny(ids['signed-old']!, {
      actor: 'grace',
      message: 'Use the packaged version.',
    });
    await ui.repos.events.ingest('m-bob', [
      {
        ...blockedRun('bob', '/opt/bin/signed-tool', 'a'.repeat(64), now / 1000 - 60),
        signer: 'Developer ID Application: Tools Inc',
        team_id: TEAM,
      },
    ]);
    await ui.repos.events.ingest('m-ada', [
      blockedRun('ada', '/tmp/miner', 'c'.repeat(64), now / 1000 - 30),
    ]);
    await ui.repos.rules.put({
      identifier: 'd'.repeat(64),
      rule_type: 'BINARY',
      policy: 'ALLOWLIST',
      scope: 'tag',
      scope_value: 'engineering',
      comment: 'build tools',
      created_by: 'test',
    });
  });

  it('filters the queue, oldest first, and keeps the filters in a link that can be shared', async () => {
    const page = await freshPage();
    await logIntoConsole(page, ui.base);
    await expect.poll(() => rowTexts(page, 'queue')).toHaveLength(2);
    const pending = await rowTexts(page, 'queue');
    expect(pending[0]).toContain('plain-tool'); // 10 h old, before the 2 h old one
    expect(pending[1]).toContain('signed-tool');

    await page.getByLabel('State').selectOption('all');
    await expect.poll(() => rowTexts(page, 'queue')).toHaveLength(3);
    await page.getByRole('textbox', { name: 'Machine' }).fill('bob-desk');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => rowTexts(page, 'queue')).toHaveLength(1);
    await page.getByLabel('Older than').selectOption('1d');
    await expect.poll(() => page.getByText('No requests match these filters.').count()).toBe(1);
    const shared = new URL(page.url());
    expect(Object.fromEntries(shared.searchParams)).toEqual({
      state: 'all',
      machine: 'bob-desk',
      older_than: '1d',
    });

    await page.goBack();
    await expect.poll(() => rowTexts(page, 'queue')).toHaveLength(1);
    expect(new URL(page.url()).searchParams.get('older_than')).toBeNull();

    // Someone else opens the link: same filters, same list.
    const other = await freshPage();
    await logIntoConsole(
      other,
      ui.base,
      'vera',
      'viewer-password-1',
      '/console/requests?state=all&user=ada',
    );
    await expect.poll(() => rowTexts(other, 'queue')).toHaveLength(2);
    expect(await other.getByLabel('State').inputValue()).toBe('all');
    expect(await other.getByRole('textbox', { name: 'User' }).inputValue()).toBe('ada');
    expect((await rowTexts(other, 'queue'))[0]).toContain('signed-tool'); // 30 h old
  });

  it("shows a request's signer, prevalence, earlier decisions and machine mode", async () => {
    const page = await freshPage();
    await logIntoConsole(page, ui.base);
    await page.getByRole('link', { name: 'signed-tool' }).click();
    await expect
      .poll(() => page.locator('.origin').textContent())
      .toBe('Developer ID Application: Tools Inc');
    expect(await page.locator('.prevalence').textContent()).toMatch(/^1 machine, blocked 1 time$/);
    expect(await page.locator('.mode').textContent()).toBe('MONITOR');
    const earlier = await rowTexts(page, 'earlier');
    expect(earlier).toHaveLength(1);
    expect(earlier[0]).toContain(`#${ids['signed-old']}`);
    expect(earlier[0]).toContain('Denied by grace');
    await page.screenshot({ path: screenshotPath('console-request-detail'), fullPage: true });

    await page.getByRole('link', { name: 'plain-tool' }).click();
    await expect.poll(() => page.locator('.origin').textContent()).toBe('unknown');
    expect(await page.locator('.prevalence').textContent()).toBe('0 machines');
    expect(new URL(page.url()).pathname).toBe(`/console/requests/${ids.plain}`);
  });

  it('finds a machine, opens it, and goes from it to one of its requests', async () => {
    const page = await freshPage();
    await logIntoConsole(page, ui.base, 'vera', 'viewer-password-1');
    await page.getByRole('link', { name: 'Machines' }).click();
    await expect.poll(() => rowTexts(page, 'machines')).toHaveLength(2);
    expect(await page.title()).toBe('Machines · Gatehouse helpdesk');
    await page.getByRole('searchbox', { name: 'Search' }).fill('engineer');
    await page.getByRole('searchbox', { name: 'Search' }).press('Enter');
    await expect.poll(() => rowTexts(page, 'machines')).toHaveLength(1);
    const [row] = await rowTexts(page, 'machines');
    expect(row).toContain('m-ada');
    expect(row).toContain('LOCKDOWN');
    expect(row).toContain('0.1.0');
    expect(row).toContain('engineering');

    await page.getByRole('link', { name: 'ada-laptop.example' }).click();
    await page.getByRole('heading', { level: 2, name: 'ada-laptop.example' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/console/machines/m-ada');
    expect(await page.locator('dd.mode').textContent()).toBe('LOCKDOWN');
    const blocks = await rowTexts(page, 'blocks');
    expect(blocks).toHaveLength(1);
    expect(blocks[0]).toContain('miner');
    expect(blocks[0]).toContain('BLOCK_UNKNOWN');
    const rules = await rowTexts(page, 'machine-rules');
    expect(rules).toHaveLength(1);
    expect(rules[0]).toContain('tag engineering');
    expect(rules[0]).toContain('build tools');
    expect(await rowTexts(page, 'machine-requests')).toEqual([
      expect.stringContaining('plain-tool'),
      expect.stringContaining('signed-tool'),
    ]);
    await page.screenshot({ path: screenshotPath('console-machine'), fullPage: true });
    await openJustification(page, 'plain-tool', 'I need plain-tool for work.');
  });

  it('creates a rule from the keyboard and removes it after a confirmation, as an admin', async () => {
    const page = await freshPage();
    await logIntoConsole(page, ui.base, 'root', 'admin-password-12', '/console/rules');
    const form = page.getByRole('form', { name: 'New rule' });
    await form.waitFor();

    // A wrong identifier is refused with the server's reason, and nothing is stored.
    await form.getByLabel('Rule type').selectOption('TEAMID');
    await form.getByLabel('Identifier').fill('not-a-team');
    await form.getByRole('button', { name: 'Create rule' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toBe("a TEAMID rule's identifier is a 10-character Team ID such as EQHXZ8M8AV");
    expect(
      (await ui.repos.rules.list({ ruleType: 'TEAMID' }, { limit: 10, offset: 0 })).total,
    ).toBe(0);

    await form.getByLabel('Identifier').fill(TEAM.toLowerCase());
    await form.getByLabel('Policy').selectOption('BLOCKLIST');
    await form.getByLabel('Applies to').selectOption('machine');
    await form.getByLabel('Machine id').fill('m-bob');
    await form.getByLabel('Message shown when blocked').fill('Not on shared desktops');
    await form.getByLabel('Comment (why)').focus();
    await page.keyboard.type('ticket 7');
    await page.keyboard.press('Enter');
    await expect
      .poll(() => page.getByRole('status').textContent())
      .toMatch(/^Rule \d+ created: BLOCKLIST TEAMID ABCDE12345\.$/);

    const { rows } = await ui.repos.rules.list({ ruleType: 'TEAMID' }, { limit: 10, offset: 0 });
    expect(rows).toEqual([
      expect.objectContaining({
        identifier: TEAM,
        policy: 'BLOCKLIST',
        scope: 'machine',
        scope_value: 'm-bob',
        custom_msg: 'Not on shared desktops',
        comment: 'ticket 7',
        created_by: 'root',
      }),
    ]);
    const ruleId = rows[0]!.id;

    await page
      .getByRole('form', { name: 'Filter rules' })
      .getByLabel('Type')
      .selectOption('TEAMID');
    await expect.poll(() => rowTexts(page, 'rules')).toHaveLength(1);
    expect(new URL(page.url()).searchParams.get('type')).toBe('TEAMID');
    await page.screenshot({ path: screenshotPath('console-rules'), fullPage: true });
    await page.getByRole('button', { name: `Remove rule ${ruleId} (TEAMID ${TEAM})` }).click();
    const confirm = page.getByRole('button', { name: `Remove rule ${ruleId}`, exact: true });
    await expect
      .poll(() => confirm.evaluate((button) => button === document.activeElement))
      .toBe(true);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('status').textContent()).toBe(`Rule ${ruleId} removed.`);
    expect(await ui.repos.rules.get(ruleId)).toMatchObject({ deleted: 1 });
    expect(await page.getByText('No rules in force match these filters.').count()).toBe(1);
  });

  it('filters the audit log by action and actor, and shows it only to the helpdesk and admins', async () => {
    const viewer = await freshPage();
    await logIntoConsole(viewer, ui.base, 'vera', 'viewer-password-1');
    expect(await viewer.getByRole('link', { name: 'Rules' }).count()).toBe(1);
    expect(await viewer.getByRole('link', { name: 'Audit log' }).count()).toBe(0);
    await viewer.goto(`${ui.base}/console/rules`);
    await viewer.getByRole('heading', { name: 'Rules' }).waitFor();
    expect(await viewer.getByRole('heading', { name: 'New rule' }).count()).toBe(0);

    const page = await freshPage();
    await logIntoConsole(page, ui.base);
    await page.getByRole('link', { name: 'Audit log' }).click();
    await expect.poll(async () => (await rowTexts(page, 'audit')).length).toBeGreaterThan(4);
    await page.getByLabel('Action').selectOption('rule');
    await expect.poll(() => rowTexts(page, 'audit')).toHaveLength(2);
    const [removed, created] = await rowTexts(page, 'audit');
    expect(removed).toContain('rule.remove');
    expect(created).toContain('rule.create');
    expect(created).toContain('ABCDE12345');

    await page.getByLabel('Action').selectOption('');
    await page.getByRole('textbox', { name: 'Actor' }).fill('machine:m-bob');
    await page.getByRole('textbox', { name: 'Actor' }).press('Enter');
    await expect.poll(() => rowTexts(page, 'audit')).toHaveLength(1);
    expect((await rowTexts(page, 'audit'))[0]).toContain(`request:${ids['signed-new']}`);
    expect(Object.fromEntries(new URL(page.url()).searchParams)).toEqual({
      actor: 'machine:m-bob',
    });
    await openJustification(page, `request:${ids['signed-new']}`, 'I need signed-tool for work.');
  });

  it('narrows the audit log to a time range kept in the link', async () => {
    const page = await freshPage();
    await logIntoConsole(page, ui.base, 'grace', 'helpdesk-password-1', '/console/audit');
    await expect.poll(async () => (await rowTexts(page, 'audit')).length).toBeGreaterThan(4);
    const filters = page.getByRole('form', { name: 'Filter the audit log' });
    await filters.getByLabel('From').fill('2099-01-01T00:00');
    await filters.getByRole('button', { name: 'Apply filters' }).click();
    await expect
      .poll(() => page.getByText('No audit entries match these filters.').count())
      .toBe(1);
    const from = await page.evaluate(() => new Date('2099-01-01T00:00').toISOString());
    expect(new URL(page.url()).searchParams.get('from')).toBe(from);
    expect(await filters.getByLabel('From').inputValue()).toBe('2099-01-01T00:00');
    await filters.getByRole('button', { name: 'Clear' }).click();
    await expect.poll(async () => (await rowTexts(page, 'audit')).length).toBeGreaterThan(4);
  });

  it('approves for the user until a chosen date', async () => {
    const page = await freshPage();
    await logIntoConsole(
      page,
      ui.base,
      'grace',
      'helpdesk-password-1',
      `/console/requests/${ids.plain}`,
    );
    const decide = page.getByRole('region', { name: 'Decide' });
    await decide.getByLabel('Approve for').selectOption('user');
    await decide.getByLabel('until').selectOption('custom');
    await decide.getByLabel('Expires at').fill('2099-01-01T12:30');
    await decide.getByLabel('Message to the user').fill('Approved until the new year.');
    await decide.getByRole('button', { name: 'Approve' }).click();
    await expect
      .poll(() => page.getByRole('status').textContent())
      .toBe(`Request ${ids.plain} is now approved.`);
    const expected = await page.evaluate(() => new Date('2099-01-01T12:30').getTime());
    const { rows } = await ui.repos.rules.list(
      { identifier: 'b'.repeat(64) },
      { limit: 10, offset: 0 },
    );
    expect(rows).toEqual([
      expect.objectContaining({ scope: 'user', scope_value: 'ada', created_by: 'grace' }),
    ]);
    expect(Number(rows[0]!.expires_at)).toBe(expected);
    expect(await page.locator('.conversation').textContent()).toContain(
      'Approved until the new year.',
    );
  });

  it('follows the light or dark setting of the system', async () => {
    const page = await freshPage();
    await logIntoConsole(page, ui.base);
    const background = () =>
      page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    await page.emulateMedia({ colorScheme: 'light' });
    const light = await background();
    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = await background();
    expect(light).toBe('rgb(247, 247, 248)');
    expect(dark).toBe('rgb(23, 24, 27)');
    await page.screenshot({ path: screenshotPath('console-dark'), fullPage: true });
    expect(errors).toEqual([]);
  });
});
