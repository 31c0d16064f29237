// The service side of bench:rules, a fresh process each time so that the benchmark's own arrays
// are not counted in its memory.
// argv: sync STATE_DIR RULES_FILE SAMPLES_FILE — start on an empty store, then take the rules as a
//         sync hands them over (store and native table together, timed);
//       start STATE_DIR SAMPLES_FILE — start on a store that already holds the rules (timed).
// Then time native lookups (one SHA-256 a line in SAMPLES_FILE) and report RSS after a collection.
import { readFileSync } from 'node:fs';
import { Agent } from '../../main/agent/agent';
import { parseConfig } from '../../main/agent/config/config';
import type { StoreChange } from '../../main/agent/store/rules';

const [how, stateDir, ...files] = process.argv.slice(2) as [string, string, ...string[]];
const { config } = parseConfig(
  JSON.stringify({ StateDir: stateDir, MachineID: 'bench' }),
  '(bench)',
  () => 'bench',
);
const agent = new Agent(config, { backend: 'fake' });
let loadS: number;
if (how === 'sync') {
  agent.start();
  const changes: StoreChange[] = readFileSync(files[0]!, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((identifier) => ({ type: 'BINARY', identifier, policy: 'ALLOWLIST' }));
  const started = performance.now();
  agent.rules.apply(changes, 'sync');
  loadS = (performance.now() - started) / 1000;
  changes.length = 0; // let the collector take them before RSS is read
} else {
  const started = performance.now();
  agent.start();
  loadS = (performance.now() - started) / 1000;
}
const samples = readFileSync(files.at(-1)!, 'utf8').split('\n').filter(Boolean);
agent.monitor.timeLookups(samples.slice(0, 10_000)); // warm the caches
const times = Array.from(agent.monitor.timeLookups(samples)).sort((a, b) => a - b);
samples.length = 0; // let the collector take them before RSS is read
global.gc?.();
const quantile = (q: number) => times[Math.floor(q * (times.length - 1))]! / 1000;
console.log(
  JSON.stringify({
    rules: agent.monitor.metrics().rules,
    stored: agent.rules.counts().BINARY,
    load_s: loadS,
    lookup_p50_us: quantile(0.5),
    lookup_p99_us: quantile(0.99),
    rss_mb: process.memoryUsage().rss / 1024 / 1024,
  }),
);
agent.stop();
