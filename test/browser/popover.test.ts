import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshotPath } from '../helpers/chromium';
import { serveFolder } from '../helpers/static-server';

const rendererDir = join(import.meta.dirname, '../../out/renderer');

describe('popover in Chromium', () => {
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let site: Awaited<ReturnType<typeof serveFolder>>;

  beforeAll(async () => {
    if (!existsSync(join(rendererDir, 'index.html'))) {
      throw new Error(`${rendererDir} has no build: run \`npm run build\` first`);
    }
    site = await serveFolder(rendererDir);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  it('says the agent is not running when the page has no preload API', async () => {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(site.url);
    await expect.poll(() => page.getByRole('status').textContent()).toBe('Agent not running');
    expect(await page.locator('h1').textContent()).toBe('Gatehouse');
    await page.screenshot({ path: screenshotPath('popover-unreachable') });
    expect(errors).toEqual([]);
  });

  it('shows a real status supplied through the preload API', async () => {
    const page = await browser.context.newPage();
    await page.exposeBinding('__status', () => ({
      reachable: true,
      mode: 'LOCKDOWN',
      monitorRunning: true,
    }));
    await page.addInitScript(() => {
      const w = window as unknown as { __status(): Promise<unknown>; gatehouse: unknown };
      w.gatehouse = { getStatus: () => w.__status() };
    });
    await page.goto(site.url);
    await expect.poll(() => page.getByRole('status').textContent()).toBe('Protected');
    expect(await page.locator('.detail').textContent()).toContain('Only approved programs');
    await page.screenshot({ path: screenshotPath('popover-protected') });
  });
});
