import type { Page } from 'playwright-core';

/** Logs in to the helpdesk console at `path` (the request queue by default). */
export async function logIntoConsole(
  page: Page,
  base: string,
  user = 'grace',
  password = 'helpdesk-password-1',
  path = '/console',
): Promise<void> {
  await page.goto(`${base}${path}`);
  await page.getByLabel('User').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('navigation', { name: 'Console' }).waitFor();
}

/** Logs in to the helpdesk console and opens the request for this file name. */
export async function openRequestInConsole(
  page: Page,
  base: string,
  fileName: string,
  user = 'grace',
  password = 'helpdesk-password-1',
): Promise<void> {
  await logIntoConsole(page, base, user, password);
  await page.getByRole('link', { name: fileName }).click();
  await page.getByRole('heading', { level: 2, name: fileName }).waitFor();
}
