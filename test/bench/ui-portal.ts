// bench:ui's employee portal: a backend on SQLite serving the built portal, with a machine that
// reported a block and a signed-in employee's session cookie in the browser, so that each round
// opens the blocked program's page as Santa's link would and renders it from the real API.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { BrowserContext, Page } from 'playwright-core';
import { ssoOptions } from '../helpers/sso-options';
import { startTestServer } from '../helpers/server';

const portalDir = join(import.meta.dirname, '../../out/portal');
const SHA = 'b'.repeat(64);

function gzipKb(dir: string): number {
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (entry.isFile())
      bytes += gzipSync(readFileSync(join(entry.parentPath, entry.name)), { level: 9 }).length;
  return Number((bytes / 1024).toFixed(1));
}

export async function startPortalForBench(context: BrowserContext) {
  // The provider is never asked: the session is made the way a sign-in ends.
  const server = await startTestServer('sqlite', {
    portalDir,
    sso: ssoOptions({ issuer: 'http://127.0.0.1:9' }),
  });
  const { repos, app, base } = server;
  await repos.machines.enroll('bench-mac', { primary_user: 'ada', hostname: 'ada-mbp' });
  await repos.events.ingest('bench-mac', [
    {
      file_sha256: SHA,
      file_path: '/Applications/Tool.app/Contents/MacOS',
      file_name: 'Tool',
      executing_user: 'ada',
      execution_time: Date.now() / 1000,
      decision: 'BLOCK_UNKNOWN',
      logged_in_users: ['ada'],
      current_sessions: ['ada@console'],
      team_id: 'EQHXZ8M8AV',
    },
  ]);
  const { sessionId } = await app.sso!.store.createSession(
    { app: 'portal', issuer: 'bench', subject: 'sub-ada', username: 'ada', role: null },
    1,
  );
  await context.addCookies([
    { name: 'gh_portal', value: sessionId, domain: '127.0.0.1', path: '/portal' },
  ]);
  return {
    url: `${base}/portal/blocked?sha=${SHA}&machine=bench-mac`,
    bundleGzKb: gzipKb(portalDir),
    async check(page: Page) {
      if (!(await page.getByRole('heading', { name: 'Tool was blocked' }).isVisible()))
        throw new Error(
          `the portal rendered without the program: ${await page.locator('main').innerText()}`,
        );
    },
    close: () => server.close(),
  };
}
