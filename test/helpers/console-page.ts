import type { Page } from 'playwright-core';

/** Logs in to the helpdesk console and opens the request for this file name. */
export async function openRequestInConsole(
  page: Page,
  base: string,
  fileName: string,
  user = 'grace',
  password = 'helpdesk-password-1',
): Promise<void> {
  await page.goto(`${base}/console`);
  await page.getByLabel('User').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: new RegExp(fileName) }).click();
}
