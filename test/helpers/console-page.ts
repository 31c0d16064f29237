import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { launchChromium } from './chromium';
import type { Repositories } from '../../server/app';
import { CONSOLE_ACCOUNTS, createConsoleAccounts, type ConsoleRole } from './console-fixtures';
import { startTestServer, type TestServer } from './server';

export const consoleDir = join(import.meta.dirname, '../../out/console');

const HELPDESK = CONSOLE_ACCOUNTS.helpdesk;

export type Chromium = Awaited<ReturnType<typeof launchChromium>>;

/** What a describe block of console browser tests shares, ready once its beforeAll has run. */
export interface ConsoleInChromium {
  readonly server: TestServer;
  readonly repos: Repositories;
  readonly base: string;
  readonly browser: Chromium;
}

/**
 * The backend on SQLite serving the built console, with accounts for these roles, and Chromium to
 * open it with: started before the describe block's tests and closed after them.
 */
export function useConsoleInChromium(...roles: ConsoleRole[]): ConsoleInChromium {
  let server: TestServer | undefined;
  let browser: Chromium | undefined;
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the console is used before its beforeAll ran');
    return value;
  };
  beforeAll(async () => {
    if (!existsSync(join(consoleDir, 'index.html')))
      throw new Error(`${consoleDir} has no build: run \`npm run build\` first`);
    server = await startTestServer('sqlite', { consoleDir });
    browser = await launchChromium();
    await createConsoleAccounts(server.repos, ...roles);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });
  return {
    get server() {
      return ready(server);
    },
    get repos() {
      return ready(server).repos;
    },
    get base() {
      return ready(server).base;
    },
    get browser() {
      return ready(browser);
    },
  };
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
