// The employee's round trip in the menu-bar UI: a block arrives over the control socket and opens
// the block dialog; the justification written there becomes a request in the real backend; the
// helpdesk approves it in the console; the popover and a notification say it can run now.
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshotPath } from '../../../helpers/chromium';
import { openRequestInConsole } from '../../../helpers/console-page';
import { copyExecutable, sha256sum } from '../../../helpers/files';
import {
  ADA,
  useMenuBarOnAgent,
  useRendererInChromium,
  type MenuBarHarness,
} from '../../../helpers/menu-bar';
import { until } from '../../../helpers/wait';

describe('block dialog and approval round trip', () => {
  const renderer = useRendererInChromium();
  const ui = useMenuBarOnAgent(renderer, {
    eventDetailUrl: 'https://helpdesk.example/blockables/%file_sha%?who=%machine_id%',
    machineId: 'ada laptop/1',
  });
  /** The helpdesk's console, logged in by the first test. */
  let consolePage: Page;

  beforeAll(async () => {
    await until(() => ui.menuBar.app.model.status.reachable, 'the menu bar to reach the agent');
  });

  // Runs before the menu bar stops: every window the app opened ran without an error (a CSP
  // violation would be one).
  afterAll(() => {
    expect(ui.menuBar.windows.flatMap((window) => window.errors)).toEqual([]);
  });

  /** The block dialog the app opened for this event, once it has. */
  async function dialogFor(eventId: number) {
    let dialog: Awaited<ReturnType<MenuBarHarness['blockDialog']>>;
    await expect
      .poll(async () => (dialog = await ui.menuBar.blockDialog(eventId)) !== undefined)
      .toBe(true);
    return dialog!;
  }

  /** The block dialog opened again, as the popover's "Request approval" opens it. */
  async function reopen(eventId: number) {
    await ui.menuBar.ipc.invoke(
      ui.menuBar.windows[0]!.webContents.id,
      renderer.site.url,
      'gatehouse:open-block',
      [eventId],
    );
    return dialogFor(eventId);
  }

  async function dialogsClosed() {
    await until(
      () => !ui.menuBar.windows.some((w) => w.options.kind === 'block' && !w.destroyed),
      'the dialog to close',
    );
  }

  /** Ada runs a fresh binary; the kernel's refusal reaches the app, which opens its dialog. */
  async function blockFresh(name: string) {
    const tool = copyExecutable('/bin/true', join(ui.stack.dir, name), `${name}-${Date.now()}`);
    expect(await ui.stack.agent.monitor.inject(tool, { ...ADA, ppid: 1 })).toBe(false);
    await until(
      () => ui.menuBar.notices.some((n) => n.title === `Blocked: ${name}`),
      'the "Blocked" notification',
    );
    const eventId = ui.stack.agent.events.list({ uid: ADA.uid })[0]!.id;
    return { tool, eventId, dialog: await dialogFor(eventId) };
  }

  it('a block opens the dialog, the justification reaches the backend, the approval comes back', async () => {
    // The block arrives over the socket: a notification, and the dialog opens by itself.
    const { tool, dialog: page } = await blockFresh('release-tool');
    const sha256 = sha256sum(tool);
    await expect
      .poll(() => page.getByRole('heading', { level: 1 }).textContent())
      .toBe('Gatehouse blocked release-tool');
    await expect.poll(() => page.locator('.sha').textContent()).toBe(sha256);
    expect(await page.locator('.message').textContent()).toContain(
      'trustworthiness cannot be determined',
    );
    expect(await page.locator('.reason').textContent()).toBe('No matching rule');
    expect(await page.getByRole('button', { name: 'Open…' }).isVisible()).toBe(true);

    // The justification is required, with its limits shown.
    const justification = page.getByLabel('Why do you need to run this program?');
    const send = page.getByRole('button', { name: 'Request approval' });
    await justification.fill('too short');
    expect(await send.isDisabled()).toBe(true);
    expect(await page.locator('#justification-hint').textContent()).toContain('1 more needed');
    await page.screenshot({ path: screenshotPath('block-dialog') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: screenshotPath('block-dialog-dark') });
    await page.emulateMedia({ colorScheme: 'light' });
    await justification.fill('I need this to cut the release tonight.');
    expect(await send.isEnabled()).toBe(true);
    await send.click();

    // A real request in the real backend, sent by the agent's sync.
    await until(
      () => ui.stack.agent.requests.list(ADA.uid)[0]?.state === 'pending',
      'the request to reach the backend',
    );
    const queue = await ui.stack.server.repos.requests.queue('pending');
    expect(queue.map((row) => [row.file_sha256, row.justification])).toEqual([
      [sha256, 'I need this to cut the release tonight.'],
    ]);
    await expect.poll(() => page.getByRole('status').textContent()).toContain('With the helpdesk');

    const popover = await ui.menuBar.popover();
    await expect
      .poll(() => popover.locator('.request .state').textContent())
      .toBe('With the helpdesk');
    expect(ui.menuBar.tray.title).toBe('1');
    expect(ui.menuBar.tray.image).toEqual({ protection: 'protected', pending: true });

    // The helpdesk approves in the console; push, sync, and the menu bar hears of it.
    consolePage = await renderer.browser.context.newPage();
    await openRequestInConsole(consolePage, ui.stack.server.base, 'release-tool');
    await consolePage.getByRole('button', { name: 'Approve' }).click();
    // The approval's rule carries the file's name, so whichever arrives first, the request's
    // new state or its rule, tells the user once: "Approved: …" or "… can now be run".
    const told = () =>
      ui.menuBar.notices.filter(
        (n) =>
          n.title === 'Approved: release-tool can run now' ||
          n.title === 'release-tool can now be run',
      );
    await until(() => told().length > 0, 'the notification that release-tool can run');
    await expect.poll(() => popover.locator('.request .state').textContent()).toBe('Approved');
    await expect
      .poll(() => page.getByRole('status').textContent())
      .toContain('You can run release-tool now');
    expect(ui.menuBar.tray.title).toBe('');
    // The request's state and the rule can arrive in different syncs.
    await until(
      () => ui.stack.agent.rules.get('BINARY', sha256) !== undefined,
      'the rule in the agent store',
    );
    expect(await ui.stack.agent.monitor.inject(tool, { ...ADA, ppid: 1 })).toBe(true);
    expect(told()).toHaveLength(1);
  });

  it('Open expands EventDetailURL and Dismiss closes the dialog', async () => {
    const eventId = ui.stack.agent.events.list({ uid: ADA.uid })[0]!.id;
    const page = await reopen(eventId);
    await page.getByRole('button', { name: 'Open…' }).click();
    const sha256 = ui.stack.agent.events.get(eventId)!.fileSha256;
    await until(() => ui.menuBar.opened.length === 1, 'the URL handed to the browser');
    expect(ui.menuBar.opened[0]).toBe(
      `https://helpdesk.example/blockables/${sha256}?who=ada%20laptop%2F1`,
    );
    expect(await ui.menuBar.blockDialog(eventId)).toBeUndefined();
  });

  it("the rule's custom_url and label make the Open button; its app name says it can now be run", async () => {
    const { tool, eventId, dialog } = await blockFresh('report-viewer');
    const sha256 = sha256sum(tool);
    await expect.poll(() => dialog.getByRole('button', { name: 'Open…' }).isVisible()).toBe(true);
    await dialog.getByRole('button', { name: 'Dismiss' }).click();
    await dialogsClosed();
    ui.stack.agent.rules.apply(
      [
        {
          type: 'BINARY',
          identifier: sha256,
          policy: 'BLOCKLIST',
          customUrl: 'https://wiki.example/blocked/%file_sha%',
          eventDetailButtonLabel: 'Why is it blocked?',
        },
      ],
      'local',
    );
    const reopened = await reopen(eventId);
    const open = reopened.getByRole('button', { name: 'Why is it blocked?' });
    await expect.poll(() => open.isVisible()).toBe(true);
    expect(await reopened.getByRole('button', { name: 'Open…' }).count()).toBe(0);
    const openedBefore = ui.menuBar.opened.length;
    await open.click();
    await until(() => ui.menuBar.opened.length > openedBefore, 'the URL handed to the browser');
    expect(ui.menuBar.opened.at(-1)).toBe(`https://wiki.example/blocked/${sha256}`);

    // The sync brings a rule that lets it run, with the name to tell the user.
    ui.stack.agent.rules.apply(
      [{ type: 'BINARY', identifier: sha256, policy: 'ALLOWLIST' }],
      'sync',
    );
    ui.stack.agent.rulesArrived([{ sha256, appName: 'Report Viewer' }]);
    await until(
      () => ui.menuBar.notices.some((n) => n.title === 'Report Viewer can now be run'),
      'the "can now be run" notification',
    );
    const popover = await ui.menuBar.popover();
    const row = popover.locator('.blocks li', { hasText: 'report-viewer' });
    await expect
      .poll(() => row.locator('.state').textContent())
      .toBe('Report Viewer can now be run');
    expect(await row.getByRole('button', { name: /Request approval/ }).count()).toBe(0);
    const told = await reopen(eventId);
    await expect
      .poll(() => told.getByRole('status').textContent())
      .toContain('Report Viewer can now be run.');
    expect(await told.getByLabel('Why do you need to run this program?').count()).toBe(0);
    await told.getByRole('button', { name: 'Dismiss' }).click();
    expect(await ui.stack.agent.monitor.inject(tool, { ...ADA, ppid: 1 })).toBe(true);
  });

  it('a question from the helpdesk is notified, and answered from the popover', async () => {
    const { dialog } = await blockFresh('build-helper');
    // Keyboard only: the justification has the focus when the dialog opens.
    await expect
      .poll(() => dialog.evaluate(() => document.activeElement?.id))
      .toBe('justification');
    await dialog.keyboard.type('It builds the docs site.');
    await dialog.keyboard.press('Tab');
    expect(await dialog.evaluate(() => document.activeElement?.textContent?.trim())).toBe(
      'Request approval',
    );
    await dialog.keyboard.press('Enter');
    await until(
      () => ui.stack.agent.requests.list(ADA.uid)[0]?.state === 'pending',
      'the request to reach the backend',
    );
    await expect
      .poll(() => dialog.getByRole('status').textContent())
      .toContain('With the helpdesk');
    // Escape closes the window, which may come before Playwright has seen the key go up.
    await dialog.keyboard.press('Escape').catch((error: Error) => {
      if (!/closed/.test(error.message)) throw error;
    });
    await dialogsClosed();

    await consolePage.goto(`${ui.stack.server.base}/console`);
    await consolePage.getByRole('link', { name: /build-helper/ }).click();
    await consolePage.getByLabel(/^Message to the user/).fill('Which project is this for?');
    await consolePage.getByRole('button', { name: 'Ask a question' }).click();
    await until(
      () => ui.menuBar.notices.some((n) => n.title === 'The helpdesk asked a question'),
      'the question notification',
    );
    expect(ui.menuBar.notices.at(-1)?.body).toBe('Which project is this for?');

    const popover = await ui.menuBar.popover();
    const item = popover.locator('.request', { hasText: 'build-helper' });
    await expect
      .poll(() => item.locator('.state').textContent())
      .toBe('The helpdesk asked a question');
    expect(await item.locator('.messages').innerText()).toContain('Which project is this for?');
    expect(ui.menuBar.tray.tooltip).toContain('The helpdesk asked you a question');
    await popover.emulateMedia({ colorScheme: 'light' });
    await popover.screenshot({ path: screenshotPath('popover-requests-light') });
    await popover.emulateMedia({ colorScheme: 'dark' });
    await popover.screenshot({ path: screenshotPath('popover-requests-dark') });
    await popover.emulateMedia({ colorScheme: 'light' });

    await item.getByLabel('Your answer to the helpdesk').fill('The docs site, for the launch.');
    await item.getByRole('button', { name: 'Send answer' }).click();
    await expect.poll(() => item.locator('.state').textContent()).toBe('With the helpdesk');
    const [row] = (await ui.stack.server.repos.requests.queue('pending')).filter(
      (r) => r.file_name === 'build-helper',
    );
    const messages = await ui.stack.server.repos.requests.messages(row!.id);
    expect(messages.map((m) => [m.author, m.body])).toEqual([
      ['helpdesk', 'Which project is this for?'],
      ['user', 'The docs site, for the launch.'],
    ]);
  });
});
