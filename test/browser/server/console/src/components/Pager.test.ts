// The console's pager in Chromium against the real backend: a search longer than a page is
// walked forwards and back through its links, the search kept in each link and in the address.
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { logIntoConsole, useConsoleInChromium } from '../../../../../helpers/console-page';

describe('console pager (Chromium)', () => {
  const ui = useConsoleInChromium('helpdesk');
  // MACHINES_PER_PAGE in server/console/src/lib/state/machines.svelte.ts (a Svelte module, which
  // this project's type check does not read).
  const MACHINES_PER_PAGE = 50;
  const LAB_MACHINES = MACHINES_PER_PAGE + 3;

  beforeAll(async () => {
    for (let n = 0; n < LAB_MACHINES; n++) {
      const id = `lab-${String(n).padStart(3, '0')}`;
      await ui.repos.machines.enroll(id, { hostname: `${id}.example` });
    }
    await ui.repos.machines.enroll('office-1', { hostname: 'office-1.example' });
  });

  const rows = (page: Page) => page.locator('table.machines tbody tr');
  const pager = (page: Page) => page.getByRole('navigation', { name: 'Machine pages' });
  const searchOf = (page: Page) => Object.fromEntries(new URL(page.url()).searchParams);

  it('walks a search page by page through its links and keeps the search', async () => {
    const page = await ui.browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await logIntoConsole(page, ui.base, undefined, undefined, '/console/machines?q=lab');

    await expect.poll(() => rows(page).count()).toBe(MACHINES_PER_PAGE);
    expect(await pager(page).getByRole('link').allTextContents()).toEqual(['Next page']);

    await pager(page).getByRole('link', { name: 'Next page' }).click();
    await expect.poll(() => rows(page).count()).toBe(LAB_MACHINES - MACHINES_PER_PAGE);
    expect(searchOf(page)).toEqual({ q: 'lab', offset: String(MACHINES_PER_PAGE) });
    expect(await rows(page).allTextContents()).not.toContain(expect.stringContaining('office-1'));
    expect(await pager(page).getByRole('link').allTextContents()).toEqual(['Previous page']);

    // From the keyboard, as from the mouse.
    await pager(page).getByRole('link', { name: 'Previous page' }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => rows(page).count()).toBe(MACHINES_PER_PAGE);
    expect(searchOf(page)).toEqual({ q: 'lab' });
    expect(await pager(page).getByRole('link').allTextContents()).toEqual(['Next page']);

    // The browser's Back button returns to the second page.
    await page.goBack();
    await expect.poll(() => rows(page).count()).toBe(LAB_MACHINES - MACHINES_PER_PAGE);
    expect(errors).toEqual([]);
  });
});
