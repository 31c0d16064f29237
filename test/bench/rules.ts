// npm run bench:rules [-- --json] [--rules N]
// A million BINARY rules: the time to write them to the store (one transaction) and for a fresh
// service to load them into the native table; native lookup latency, hits and misses alike; and
// the service's memory afterwards. The store is written here; the service is its own process,
// so that the benchmark's own arrays are not counted in its memory.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../main/agent/store/database';
import { RuleStore } from '../../main/agent/store/rules';

const args = process.argv.slice(2);
const json = args.includes('--json');
const count = args.includes('--rules') ? Number(args[args.indexOf('--rules') + 1]) : 1_000_000;
const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

const stateDir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-rules-'));
try {
  const identifiers = Array.from({ length: count }, () => randomBytes(32).toString('hex'));
  const db = openDatabase(stateDir);
  let started = performance.now();
  new RuleStore(db).apply(
    identifiers.map((identifier) => ({
      type: 'BINARY' as const,
      identifier,
      policy: 'ALLOWLIST' as const,
    })),
    'sync',
  );
  const storeS = (performance.now() - started) / 1000;
  db.close();

  // Half hits, half misses, in random order.
  const samplesFile = join(stateDir, 'samples.txt');
  writeFileSync(
    samplesFile,
    Array.from({ length: 200_000 }, (_, i) =>
      i % 2 === 0
        ? identifiers[Math.floor(Math.random() * count)]!
        : randomBytes(32).toString('hex'),
    ).join('\n'),
  );
  started = performance.now();
  const service = spawnSync(
    process.execPath,
    [
      '--expose-gc',
      '--import',
      'tsx',
      join(import.meta.dirname, 'rules-service.ts'),
      stateDir,
      samplesFile,
    ],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    },
  );
  if (service.status !== 0)
    throw new Error(`bench:rules: the service process failed: ${service.stderr}`);
  const measured = JSON.parse(service.stdout) as {
    rules: number;
    load_native_s: number;
    lookup_p50_us: number;
    lookup_p99_us: number;
    rss_mb: number;
  };
  const result = {
    rules: measured.rules,
    load_s: round(storeS + measured.load_native_s),
    load_store_s: round(storeS),
    load_native_s: round(measured.load_native_s),
    lookup_p50_us: round(measured.lookup_p50_us, 3),
    lookup_p99_us: round(measured.lookup_p99_us, 3),
    rss_mb: Math.round(measured.rss_mb),
  };
  if (json) console.log(JSON.stringify(result, null, 2));
  else {
    console.log(
      `${result.rules} rules: store ${result.load_store_s} s + service start ${result.load_native_s} s = ${result.load_s} s`,
    );
    console.log(`native lookup p50 ${result.lookup_p50_us} µs, p99 ${result.lookup_p99_us} µs`);
    console.log(`service RSS ${result.rss_mb} MB`);
  }
} finally {
  rmSync(stateDir, { recursive: true, force: true });
}
