import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchChromium } from './chromium';
import { CONSOLE_ACCOUNTS } from './console-fixtures';
import { startTestServer, type TestServer } from './server';

export const consoleDir = join(import.meta.dirname, '../../out/console');

const HELPDESK = CONSOLE_ACCOUNTS.helpdesk;

export type Chromium = Awaited<ReturnType<typeof launchChromium>>;

/** The backend on SQLite serving the built console, and Chromium to open it with. */
export async function startConsoleInChromium(): Promise<{ server: TestServer; browser: Chromium }> {
  if (!existsSync(join(consoleDir, 'index.html')))
    throw new Error(`${consoleDir} has no build: run \`npm run build\` first`);
  const server = await startTestServer('sqlite', { consoleDir });
  return { server, browser: await launchChromium() };
}

/** Opens the console at `path` and submits the login form, whatever it answers. */
export async function submitConsoleLogin(
  page: Page,
  base: string,
  user: string,
  password: string,
  path = '/console',
): Promise<void> {
  await page.goto(`${base}${path}`);
  await page.getByLabel('User').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

/** Logs in to the helpdesk console at `path` (the request queue by default). */
export async function logIntoConsole(
  page: Page,
  base: string,
  user: string = HELPDESK.username,
  password: string = HELPDESK.password,
  path = '/console',
): Promise<void> {
  await submitConsoleLogin(page, base, user, password, path);
  await page.getByRole('navigation', { name: 'Console' }).waitFor();
}

/** Logs in to the helpdesk console and opens the request for this file name. */
export async function openRequestInConsole(
  page: Page,
  base: string,
  fileName: string,
  user: string = HELPDESK.username,
  password: string = HELPDESK.password,
): Promise<void> {
  await logIntoConsole(page, base, user, password);
  await page.getByRole('link', { name: fileName }).click();
  await page.getByRole('heading', { level: 2, name: fileName }).waitFor();
}
