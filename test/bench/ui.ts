// `npm run bench:ui`: the menu-bar renderer in Chromium. First render of the popover and of the
// block dialog (navigation start to the first frame with content, the renderer's own
// `gatehouse:content-visible` mark), against a baseline page measured alternately in the same
// run: a hand-written page that puts one headline on screen with no framework. And the size of
// everything the renderer loads, gzipped. The employee portal too: a signed-in employee opening a
// blocked program's page from Santa's link, served by a real backend (its API calls included).
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import type { AppState, BlockDetails } from '../../common/ipc';
import { launchChromium } from '../helpers/chromium';
import { assertRendererBuilt, rendererDir } from '../helpers/menu-bar';
import { serveFolder } from '../helpers/static-server';
import { startPortalForBench } from './ui-portal';

const json = process.argv.includes('--json');
const roundsArg = process.argv.indexOf('--rounds');
const rounds = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 21;
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error('bench:ui: --rounds must be a positive integer');
  process.exit(2);
}

const TARGETS = { popover_first_render_ms: 100, renderer_bundle_gz_kb: 120 };

const now = Date.now();
const sha = (n: number) => n.toString(16).padStart(64, '0');
/** What a busy user's popover shows: posture, blocks, requests with a conversation. */
const STATE: AppState = {
  status: {
    reachable: true,
    mode: 'LOCKDOWN',
    monitorRunning: true,
    version: '0.1.0',
    lastSync: now - 90_000,
    syncConfigured: true,
    posture: ['Disk encryption', 'Firewall', 'Screen lock', 'OS updates'].map((title, i) => ({
      id: `check-${i}`,
      title,
      status: i === 1 ? 'fail' : 'pass',
      evidence: 'read from the system',
      remediation: `Turn on ${title.toLowerCase()}.`,
      checkedAt: now,
    })),
  },
  blocks: [1, 2, 3, 4, 5].map((id) => ({
    id,
    fileName: `tool-${id}`,
    filePath: '/home/ada/bin',
    sha256: sha(id),
    user: 'ada',
    parentName: 'bash',
    ppid: 100,
    decision: 'BLOCK_UNKNOWN',
    package: null,
    executionTime: now / 1000 - id * 600,
    occurrences: 1,
  })),
  requests: [1, 2, 3].map((id) => ({
    id,
    eventId: id,
    state: (['needs-info', 'pending', 'approved'] as const)[id - 1]!,
    justification: 'Needed for the release.',
    messages:
      id === 1
        ? [{ author: 'helpdesk', authorName: 'grace', body: 'Which project?', at: now }]
        : [],
    createdAt: now / 1000 - id * 500,
  })),
  appVersion: '0.1.0',
};
const BLOCK: BlockDetails = {
  event: STATE.blocks[0]!,
  message:
    'The following application has been blocked from executing because its trustworthiness cannot be determined.',
  reason: 'No matching rule',
  detailButton: 'Open…',
  request: null,
};

const BASELINE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="UTF-8" /><title>baseline</title>
<script type="module" src="./baseline.js"></script></head>
<body><div id="app"></div></body></html>`;
const BASELINE_JS = `const h = document.createElement('p');
h.textContent = 'Protected';
document.getElementById('app').append(h);
requestAnimationFrame(() => performance.mark('gatehouse:content-visible'));`;

/**
 * The preload's API inside the page, answering from the fixtures. Electron's IPC answers within a
 * millisecond; the tests' exposeBinding goes through Playwright and the test process (tens of
 * milliseconds on a busy machine), which would measure Playwright, not the renderer.
 */
function stubApi(): string {
  return `(() => {
    const state = ${JSON.stringify(STATE)};
    const block = ${JSON.stringify(BLOCK)};
    window.gatehouse = Object.freeze({
      getState: () => Promise.resolve(state),
      onState: () => () => {},
      getBlock: () => Promise.resolve(block),
      syncNow: () => Promise.resolve({ started: true }),
    });
  })();`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function bundleSize(): {
  files: { file: string; bytes: number; gzipBytes: number }[];
  gzipKb: number;
} {
  const files: { file: string; bytes: number; gzipBytes: number }[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else {
        const content = readFileSync(path);
        files.push({
          file: relative(rendererDir, path),
          bytes: content.length,
          gzipBytes: gzipSync(content, { level: 9 }).length,
        });
      }
    }
  };
  walk(rendererDir);
  return { files, gzipKb: files.reduce((sum, f) => sum + f.gzipBytes, 0) / 1024 };
}

/** Milliseconds from navigation start to the page's content-visible mark. */
async function firstRender(page: Page, url: string): Promise<number> {
  await page.goto(url);
  const handle = await page.waitForFunction(
    () => performance.getEntriesByName('gatehouse:content-visible')[0]?.startTime,
    undefined,
    { polling: 5, timeout: 10_000 },
  );
  return (await handle.jsonValue()) as number;
}

async function main(): Promise<void> {
  assertRendererBuilt();
  const baselineDir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-ui-'));
  writeFileSync(join(baselineDir, 'index.html'), BASELINE_HTML);
  writeFileSync(join(baselineDir, 'baseline.js'), BASELINE_JS);
  const renderer = await serveFolder(rendererDir);
  const baseline = await serveFolder(baselineDir);
  const browser = await launchChromium();
  const portal = await startPortalForBench(browser.context);
  const samples = {
    popover: [] as number[],
    block: [] as number[],
    baseline: [] as number[],
    portal: [] as number[],
  };
  try {
    const measure = async (kind: keyof typeof samples, record: boolean) => {
      const page = await browser.context.newPage();
      if (kind === 'popover' || kind === 'block') await page.addInitScript({ content: stubApi() });
      const url =
        kind === 'baseline'
          ? baseline.url
          : kind === 'portal'
            ? portal.url
            : `${renderer.url}${kind === 'block' ? '#block/1' : '#popover'}`;
      const ms = await firstRender(page, url);
      if (kind === 'portal') await portal.check(page);
      if (kind === 'popover' && !(await page.getByText('Protected', { exact: true }).isVisible())) {
        throw new Error(
          `the popover rendered without its headline: ${await page.locator('main').innerText()}`,
        );
      }
      await page.close();
      if (record) samples[kind].push(ms);
    };
    // One unrecorded round warms Chromium's process and disk caches for all three.
    const kinds = ['baseline', 'popover', 'block', 'portal'] as const;
    for (const kind of kinds) await measure(kind, false);
    for (let round = 0; round < rounds; round++) {
      for (const kind of kinds) await measure(kind, true);
    }
  } finally {
    await browser.close();
    await portal.close();
    await renderer.close();
    await baseline.close();
    rmSync(baselineDir, { recursive: true, force: true });
  }

  const size = bundleSize();
  const popover = median(samples.popover);
  const base = median(samples.baseline);
  const result = {
    popover_first_render_ms: Number(popover.toFixed(1)),
    block_dialog_first_render_ms: Number(median(samples.block).toFixed(1)),
    baseline_first_render_ms: Number(base.toFixed(1)),
    popover_vs_baseline: Number((popover / base).toFixed(2)),
    portal_first_render_ms: Number(median(samples.portal).toFixed(1)),
    portal_vs_baseline: Number((median(samples.portal) / base).toFixed(2)),
    portal_bundle_gz_kb: portal.bundleGzKb,
    renderer_bundle_gz_kb: Number(size.gzipKb.toFixed(1)),
    rounds,
    targets: TARGETS,
    files: size.files,
  };
  if (json) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  const met = (value: number, target: number) => (value < target ? 'met' : 'NOT met');
  console.log(
    `bench:ui — median of ${rounds} rounds, fresh page each, alternating with the baseline page`,
  );
  console.log(`  baseline page first render     ${result.baseline_first_render_ms} ms`);
  console.log(
    `  popover first render           ${result.popover_first_render_ms} ms (${result.popover_vs_baseline}× baseline; target < ${TARGETS.popover_first_render_ms} ms: ${met(popover, TARGETS.popover_first_render_ms)})`,
  );
  console.log(`  block dialog first render      ${result.block_dialog_first_render_ms} ms`);
  console.log(
    `  portal first render            ${result.portal_first_render_ms} ms (${result.portal_vs_baseline}× baseline; blocked-program page, signed in, real backend; bundle ${result.portal_bundle_gz_kb} KB gzipped)`,
  );
  console.log(
    `  renderer bundle, gzipped       ${result.renderer_bundle_gz_kb} KB (target < ${TARGETS.renderer_bundle_gz_kb} KB: ${met(size.gzipKb, TARGETS.renderer_bundle_gz_kb)})`,
  );
  for (const file of size.files) {
    console.log(
      `    ${file.file.padEnd(32)} ${(file.bytes / 1024).toFixed(1)} KB, ${(file.gzipBytes / 1024).toFixed(1)} KB gzipped`,
    );
  }
}

main().catch((error: Error) => {
  console.error(`bench:ui: ${error.message}`);
  process.exitCode = 1;
});
