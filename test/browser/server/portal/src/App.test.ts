// The employee portal in Chromium, keyboard only: from the link Santa's block dialog opens
// (EventDetailURL, placeholders filled and percent-encoded as Santa does) through the identity
// provider's login, a justification, the helpdesk's approval in the console (signed in through the
// same provider), to the rule reaching a stock Santa client's sync with notification_app_name set,
// and the portal saying "approved". Each portal screen is captured light and dark.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEntries } from '../../../../helpers/audit';
import { launchChromium, screenshotPath } from '../../../../helpers/chromium';
import { startSsoStack, type SsoStack } from '../../../../helpers/oidc-provider';
import { SantaClient } from '../../../../helpers/santa-client';

const portalDir = join(import.meta.dirname, '../../../../../out/portal');
const SHA = '5'.repeat(63) + 'a';
/** A Santa EventDetailURL as an admin would configure it. */
const TEMPLATE =
  '/portal/blocked?sha=%file_identifier%&machine=%machine_id%&user=%username%&host=%hostname%&serial=%serial%&uuid=%uuid%';

/** Fills Santa's placeholders the way Santa does: each value percent-encoded. */
function eventDetailUrl(base: string, values: Record<string, string>): string {
  return (
    base +
    TEMPLATE.replace(/%([a-z_]+)%/g, (all, key: string) =>
      values[key] === undefined ? all : encodeURIComponent(values[key]),
    )
  );
}

/** Presses Tab until `target` has the focus (as a keyboard user would reach it). */
async function tabTo(page: Page, target: Locator, limit = 40): Promise<void> {
  for (let i = 0; i < limit; i++) {
    if (await target.evaluate((element) => element === document.activeElement).catch(() => false))
      return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`could not reach ${target.toString()} with Tab`);
}

/** Waits for `target`, reaches it with Tab and presses Enter on it. */
async function activate(page: Page, target: Locator, limit?: number): Promise<void> {
  await target.waitFor();
  await tabTo(page, target, limit);
  await page.keyboard.press('Enter');
}

async function bothSchemes(page: Page, name: string): Promise<void> {
  await page.emulateMedia({ colorScheme: 'light' });
  await page.screenshot({ path: screenshotPath(`portal-${name}-light`), fullPage: true });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: screenshotPath(`portal-${name}-dark`), fullPage: true });
  await page.emulateMedia({ colorScheme: 'light' });
}

/** The sign-out button named `button`, then the confirmation, by keyboard. */
async function signOutByKeyboard(page: Page, button: string, limit?: number): Promise<void> {
  await activate(page, page.getByRole('button', { name: button }), limit);
  await activate(page, page.getByRole('button', { name: 'Yes, sign me out' }));
}

/** The provider's login form, by keyboard: the login field has the focus. */
async function signInAtProvider(page: Page, login: string): Promise<void> {
  await page.locator('input[name="login"]').waitFor();
  await page.keyboard.type(login);
  await page.keyboard.press('Tab');
  await page.keyboard.type('any password');
  await page.keyboard.press('Enter');
}

type Browser = Awaited<ReturnType<typeof launchChromium>>;

describe('employee portal in Chromium', () => {
  let stack: SsoStack;
  let employee: Browser;
  let helpdesk: Browser;
  let mac: SantaClient;
  const errors: string[] = [];

  /** A new tab of `browser` at `url`, whose page errors the test finds at its end. */
  async function openPage(browser: Browser, url: string): Promise<Page> {
    const page = await browser.context.newPage();
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(url);
    return page;
  }

  beforeAll(async () => {
    if (!existsSync(join(portalDir, 'index.html')))
      throw new Error(`${portalDir} has no build: run \`npm run build\` first`);
    stack = await startSsoStack('sqlite', {}, undefined, { portalDir });
    const token = await stack.server.repos.machines.enroll('C02-ADA-MAC', {});
    mac = new SantaClient({
      syncBaseURL: `${stack.server.base}/santa/`,
      machineId: 'C02-ADA-MAC',
      headers: { authorization: `Bearer ${token}` },
      facts: { primary_user: 'ada', hostname: 'ada-mbp' },
    });
    employee = await launchChromium();
    helpdesk = await launchChromium();
  }, 90_000);
  afterAll(async () => {
    await employee?.close();
    await helpdesk?.close();
    await stack?.close();
  });

  it('takes a blocked employee from Santa’s dialog to an approved rule on their Mac', async () => {
    const { base } = stack.server;
    await mac.sync({
      events: [
        {
          file_sha256: SHA,
          file_path: '/Applications/Release Tool.app/Contents/MacOS',
          file_name: 'Release Tool',
          executing_user: 'ada',
          execution_time: Date.UTC(2026, 10, 30, 9, 15) / 1000,
          decision: 'BLOCK_UNKNOWN',
          logged_in_users: ['ada'],
          current_sessions: ['ada@console'],
          team_id: 'EQHXZ8M8AV',
          signing_id: 'EQHXZ8M8AV:com.example.release-tool',
        },
      ],
    });
    const page = await openPage(
      employee,
      eventDetailUrl(base, {
        file_identifier: SHA,
        machine_id: 'C02-ADA-MAC',
        username: 'ada',
        hostname: 'ada-mbp',
        serial: 'C02SIMULATED',
        uuid: 'A1B2C3D4-0000-4000-8000-000000000001',
      }),
    );
    const signIn = page.getByRole('link', { name: 'Sign in with your company account' });
    await signIn.waitFor();
    await bothSchemes(page, 'sign-in');
    await activate(page, signIn);
    await signInAtProvider(page, 'sub-ada');

    await page.getByRole('heading', { name: 'Release Tool was blocked' }).waitFor();
    expect(page.url()).toContain('/portal/blocked?sha=');
    const facts = await page.locator('.facts').textContent();
    expect(facts).toContain(SHA);
    expect(facts).toContain('EQHXZ8M8AV');
    expect(facts).toContain('ada-mbp');
    expect(facts).toContain('2026');
    await bothSchemes(page, 'blocked');

    await tabTo(page, page.getByLabel(/Why do you need it/));
    await page.keyboard.type('I need the release tool to ship version 4.2 today.');
    await activate(page, page.getByRole('button', { name: 'Request approval' }));
    await page.getByText('waiting for the helpdesk').first().waitFor();
    await bothSchemes(page, 'requested');

    // The helpdesk asks; the page shows the question and takes the answer in place.
    const [filed] = await stack.server.repos.requests.queue();
    await stack.server.repos.requests.ask(filed!.id, {
      actor: 'sso:hal',
      question: 'Is 4.2 the build for the Q4 customers?',
    });
    const answer = page.getByLabel('Your answer');
    await answer.waitFor();
    await bothSchemes(page, 'question');
    await tabTo(page, answer);
    await page.keyboard.type('Yes, the Q4 customers get 4.2 on Monday.');
    await activate(page, page.getByRole('button', { name: 'Send answer' }));
    await page.getByText('waiting for the helpdesk').first().waitFor();

    // The helpdesk approves in the console, signed in through the same provider.
    const desk = await openPage(helpdesk, `${base}/console/`);
    const sso = desk.getByRole('link', { name: 'Sign in with single sign-on' });
    await activate(desk, sso);
    await signInAtProvider(desk, 'sub-hal');
    await desk.getByRole('navigation', { name: 'Console' }).waitFor();
    const link = desk.getByRole('link', { name: 'Release Tool' });
    await activate(desk, link, 80);
    await desk.getByRole('heading', { level: 2, name: 'Release Tool' }).waitFor();
    await activate(desk, desk.getByRole('button', { name: 'Approve' }), 80);
    await desk
      .getByText(/approved/i)
      .first()
      .waitFor();

    // The Mac's next sync brings the rule, with the name Santa shows in its notification.
    const report = await mac.sync();
    expect(mac.rule(SHA)?.policy).toBe('ALLOWLIST');
    expect(report.notifications).toContain('Release Tool');

    // The portal polls while the request is open: it shows the approval without a reload.
    await page.getByRole('heading', { name: /Approved: Release Tool can run/ }).waitFor();
    await bothSchemes(page, 'approved');
    const audit = await auditEntries(stack.server.db);
    expect(audit.map(({ actor, action }) => ({ actor, action }))).toEqual(
      expect.arrayContaining([
        { actor: 'sso:sub-ada', action: 'request.create' },
        { actor: 'sso:hal', action: 'request.approve' },
      ]),
    );
    expect(errors).toEqual([]);
  });

  it('answers a hostile or foreign link with a clear page and nobody’s data', async () => {
    const { base } = stack.server;
    const page = await employee.context.newPage();
    page.on('pageerror', (error) => errors.push(error.message));
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.goto(
      eventDetailUrl(base, {
        file_identifier: SHA,
        machine_id: '<img src=x onerror=alert(1)><script>alert(2)</script>',
        username: '<script>alert(3)</script>',
      }),
    );
    const problem = page.getByRole('heading', { name: 'We cannot show this program' });
    await problem.waitFor();
    expect(await page.getByRole('alert').first().textContent()).toContain(
      'no block of this program for you',
    );
    expect(await page.locator('.facts').count()).toBe(0);
    await bothSchemes(page, 'problem');
    await page.goto(`${base}${TEMPLATE}`);
    await problem.waitFor();
    expect(await page.getByRole('alert').first().textContent()).toContain('names no program');
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('signs out of the portal and of the provider, back to the sign-in page', async () => {
    const page = await openPage(employee, `${stack.server.base}/portal/requests`);
    await signOutByKeyboard(page, 'Sign out');
    await page.getByRole('link', { name: 'Sign in with your company account' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/portal/');
    // The provider forgot the person: signing in asks for the login again.
    await activate(page, page.getByRole('link', { name: 'Sign in with your company account' }));
    await page.locator('input[name="login"]').waitFor();
    expect(errors).toEqual([]);
  });

  it('signs the helpdesk out of the console and of the provider, back to the sign-in page', async () => {
    const desk = await openPage(helpdesk, `${stack.server.base}/console/`);
    await signOutByKeyboard(desk, 'Log out', 80);
    const sso = desk.getByRole('link', { name: 'Sign in with single sign-on' });
    await sso.waitFor();
    expect(new URL(desk.url()).pathname).toBe('/console/');
    // The provider forgot the helpdesk too: signing in asks for the login again.
    await activate(desk, sso);
    await desk.locator('input[name="login"]').waitFor();
    expect(errors).toEqual([]);
  });
});
