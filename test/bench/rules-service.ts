// The service side of bench:rules: a fresh process that opens a state folder holding the rules,
// starts the agent (loading them into the native table), times lookups, and reports its memory.
// argv: STATE_DIR SAMPLES_FILE (one SHA-256 a line)
import { readFileSync } from 'node:fs';
import { Agent } from '../../main/agent/agent';
import { parseConfig } from '../../main/agent/config/config';

const [stateDir, samplesFile] = process.argv.slice(2) as [string, string];
const { config } = parseConfig(
  JSON.stringify({ StateDir: stateDir, MachineID: 'bench' }),
  '(bench)',
  () => 'bench',
);
const agent = new Agent(config, { backend: 'fake' });
const started = performance.now();
agent.start();
const loadS = (performance.now() - started) / 1000;
const samples = readFileSync(samplesFile, 'utf8').split('\n').filter(Boolean);
agent.monitor.timeLookups(samples.slice(0, 10_000)); // warm the caches
const times = Array.from(agent.monitor.timeLookups(samples)).sort((a, b) => a - b);
samples.length = 0; // let the collector take them before RSS is read
global.gc?.();
const quantile = (q: number) => times[Math.floor(q * (times.length - 1))]! / 1000;
console.log(
  JSON.stringify({
    rules: agent.monitor.metrics().rules,
    load_native_s: loadS,
    lookup_p50_us: quantile(0.5),
    lookup_p99_us: quantile(0.99),
    rss_mb: process.memoryUsage().rss / 1024 / 1024,
  }),
);
agent.stop();
