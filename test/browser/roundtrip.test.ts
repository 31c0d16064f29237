// One machine's round trip with the helpdesk in a real browser: a blocked exec (fake exec
// source), its request delivered by the sync, approved with a click in the console in Chromium,
// pushed to the agent, synced, and the rule in the agent's store and native table.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startSyncingAgent } from '../helpers/agent';
import { launchChromium } from '../helpers/chromium';
import { openRequestInConsole } from '../helpers/console-page';
import { until } from '../helpers/wait';
import { copyExecutable, sha256sum } from '../helpers/files';
import { useScratch } from '../helpers/scratch';
import { startTestServer } from '../helpers/server';

const consoleDir = join(import.meta.dirname, '../../out/console');

describe('round trip through the console', () => {
  const { dir, cleanups } = useScratch('roundtrip-ui');

  it('event → request → approval clicked in Chromium → push → sync → rule in the agent', async () => {
    if (!existsSync(join(consoleDir, 'index.html')))
      throw new Error(`${consoleDir} has no build: run \`npm run build\` first`);
    const { repos, base, close } = await startTestServer('sqlite', {
      enrollmentSecret: 'team-secret',
      consoleDir,
    });
    cleanups.push(close);
    await repos.users.create('grace', 'helpdesk-password-1', 'helpdesk', 'test');

    const { agent, scheduler, stop } = await startSyncingAgent(dir, base, {
      MachineID: 'ada-laptop',
      MachineOwner: 'ada',
    });
    cleanups.push(stop);

    const ada = { pid: 9001, ppid: 1, uid: 1000, gid: 1000 };
    const tool = copyExecutable('/bin/true', join(dir, 'release-tool'), `roundtrip-${Date.now()}`);
    expect(await agent.monitor.inject(tool, ada)).toBe(false);
    await until(() => agent.events.list({ uid: 1000 }).length === 1, 'the block event');
    const request = agent.requests.create(
      agent.events.list({ uid: 1000 })[0]!.id,
      1000,
      'I need this to cut the release tonight.',
    );
    await scheduler.syncNow();
    expect(agent.requests.get(request.id)?.state).toBe('pending');

    const browser = await launchChromium();
    cleanups.push(() => browser.close());
    const page = await browser.context.newPage();
    await openRequestInConsole(page, base, 'release-tool');
    await expect
      .poll(() => page.locator('.justification').textContent())
      .toBe('I need this to cut the release tonight.');

    const clicked = performance.now();
    await page.getByRole('button', { name: 'Approve' }).click();
    await until(
      () => agent.rules.get('BINARY', sha256sum(tool)) !== undefined,
      'the rule in the agent store',
    );
    const ms = performance.now() - clicked;
    await until(
      () => agent.requests.get(request.id)?.state === 'approved',
      'the approval on the agent',
    );
    expect(await agent.monitor.inject(tool, ada)).toBe(true);
    console.log(`approve click → rule in the agent's store: ${ms.toFixed(0)} ms`);
  });
});
