// npm run bench:roundtrip [-- --json] [--rounds N]   (root)
// The approval round trip on this machine, as npm start runs it: the backend and the agent
// service in their own processes, the real fanotify monitor (LOCKDOWN, confined to a private
// tmpfs). Each round: a fresh binary is refused by the kernel, a request goes through the control
// socket, the helpdesk clicks Approve in Chromium; timed from that click until the same binary
// runs (approve_to_runnable_ms, median of the rounds). The baseline, from the same click in the
// same run: until the console itself shows the request approved (console_approved_ms), one HTTP
// request and a re-render. The round trip adds the push, a sync and the rule reaching the
// kernel's decisions; the ratio says how much longer that takes than the console's own update.
import { launchChromium } from '../helpers/chromium';
import { openRequestInConsole } from '../helpers/console-page';
import { execute, requestApproval, startRealStack, untilAgentRequest } from '../helpers/real-stack';

const args = process.argv.slice(2);
const json = args.includes('--json');
const rounds = args.includes('--rounds') ? Number(args[args.indexOf('--rounds') + 1]) : 7;
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

if (process.getuid?.() !== 0) {
  console.error(
    'bench:roundtrip: needs root (the real fanotify monitor); run it as root, e.g. sudo npm run bench:roundtrip',
  );
  process.exit(1);
}

const real = await startRealStack('bench-roundtrip');
const browser = await launchChromium();
const runnable: number[] = [];
const approved: number[] = [];
try {
  for (let round = 0; round < rounds; round++) {
    const tool = real.freshBinary(`bench-tool-${round}`);
    const refused = await execute(tool);
    if (refused.error !== 'EPERM')
      throw new Error(
        `bench:roundtrip: the kernel did not refuse ${tool}: ${JSON.stringify(refused)}`,
      );
    const request = await requestApproval(real, tool, `Benchmark round ${round}, please approve.`);
    await untilAgentRequest(real, request.id, 'pending');
    await browser.context.clearCookies();
    const page = await browser.context.newPage();
    await openRequestInConsole(
      page,
      real.base,
      `bench-tool-${round}`,
      'admin',
      real.stack.adminPassword!,
    );
    const approve = page.getByRole('button', { name: 'Approve' });
    await approve.waitFor();
    await approve.click();
    const clicked = performance.now();
    const consoleShows = page
      .locator('.badge.approved')
      .first()
      .waitFor()
      .then(() => performance.now() - clicked);
    for (;;) {
      if ((await execute(tool)).code === 0) break;
      if (performance.now() - clicked > 30_000)
        throw new Error(`bench:roundtrip: ${tool} still refused 30 s after the approval`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    runnable.push(performance.now() - clicked);
    approved.push(await consoleShows);
    await page.close();
    if (!json)
      console.log(
        `round ${round + 1}: console shows approved ${approved.at(-1)!.toFixed(0)} ms, binary runs ${runnable.at(-1)!.toFixed(0)} ms`,
      );
  }
} finally {
  await browser.close();
  await real.stop();
}

const result = {
  rounds,
  approve_to_runnable_ms: Math.round(median(runnable)),
  approve_to_runnable_max_ms: Math.round(Math.max(...runnable)),
  console_approved_ms: Math.round(median(approved)),
  runnable_vs_console: Math.round((median(runnable) / median(approved)) * 100) / 100,
};
console.log(json ? JSON.stringify(result, null, 2) : JSON.stringify(result));
