// The story Gatehouse exists for, with nothing faked: the kernel refuses a fresh binary (real
// fanotify, LOCKDOWN, on a private tmpfs), the block reaches a subscribed client of the control
// socket, a request with a justification goes to the backend, the helpdesk approves it with a
// click in Chromium, the push makes the agent sync, and the same binary runs. Then the same with
// the backend down when the block happens. Each part runs in its own process, as npm start runs it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshotPath } from '../helpers/chromium';
import { rootAvailable } from '../helpers/prerequisites';
import {
  agentRequest,
  approveInConsole,
  execute,
  requestApproval,
  startRealStack,
  untilAgentRequest,
  type RealStack,
} from '../helpers/real-stack';

const enabled = rootAvailable('the real round trip (fanotify)');

describe.runIf(enabled)('the whole round trip on this machine', () => {
  let real: RealStack;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  beforeAll(async () => {
    real = await startRealStack('roundtrip-real');
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await real?.stop();
  });

  it('blocked by the kernel → request → approved in the console → push → sync → runs', async () => {
    const tool = real.freshBinary('release-tool');
    expect(await execute(tool)).toEqual({ code: null, error: 'EPERM' });
    const request = await requestApproval(
      real,
      tool,
      'I need this to cut the release tonight, please.',
    );
    expect(request.state).toBe('queued');
    // Written to the helpdesk at once by the sync a new request triggers.
    await untilAgentRequest(real, request.id, 'pending');
    const page = await browser.context.newPage();
    const ms = await approveInConsole(real, browser, tool, page);
    await page.screenshot({ path: screenshotPath('roundtrip-real-approved') });
    await page.close();
    expect(await execute(tool)).toEqual({ code: 0 });
    await untilAgentRequest(real, request.id, 'approved');
    expect(real.requests.some((r) => r.id === request.id && r.state === 'approved')).toBe(true);
    console.log(`approve click → the blocked binary runs: ${ms.toFixed(0)} ms`);
  });

  it('keeps the request while the backend is down, and delivers it when it is back', async () => {
    await real.stack.stopServer();
    const tool = real.freshBinary('offline-tool');
    expect(await execute(tool)).toEqual({ code: null, error: 'EPERM' });
    const request = await requestApproval(real, tool, 'Needed offline, on the train home.');
    // The sync the request triggers fails; the request stays queued, nothing is dropped.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await agentRequest(real, request.id)).state).toBe('queued');
    expect(await execute(tool)).toEqual({ code: null, error: 'EPERM' });

    await real.stack.restartServer();
    // The push stream reconnects and the agent syncs on its own: no one has to ask it to.
    await untilAgentRequest(real, request.id, 'pending', 45_000);
    const page = await browser.context.newPage();
    const ms = await approveInConsole(real, browser, tool, page);
    await expect
      .poll(() => page.locator('.justification').first().textContent())
      .toContain('Needed offline, on the train home.');
    await page.close();
    expect(await execute(tool)).toEqual({ code: 0 });
    console.log(`after the backend came back, approve click → runs: ${ms.toFixed(0)} ms`);
  });
});
