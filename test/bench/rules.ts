// npm run bench:rules [-- --json] [--rules N]
// A million BINARY rules. load_s: a running service takes them as a sync hands them over, into
// its SQLite store (one transaction) and its native table. restart_s: a fresh service starts on
// that store and loads the native table from it before the monitor starts. Native lookup
// latency, hits and misses alike, and the service's memory afterwards. Each service run is its
// own process, so that the benchmark's arrays are not counted in its memory.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ExecMonitor } from '../../native/index';

const args = process.argv.slice(2);
const json = args.includes('--json');
const count = args.includes('--rules') ? Number(args[args.indexOf('--rules') + 1]) : 1_000_000;
const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

interface ServiceFigures {
  rules: number;
  stored: number;
  load_s: number;
  lookup_p50_us: number;
  lookup_p99_us: number;
  rss_mb: number;
}

function service(...argv: string[]): ServiceFigures {
  const run = spawnSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', join(import.meta.dirname, 'rules-service.ts'), ...argv],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  if (run.status !== 0) throw new Error(`bench:rules: the service process failed: ${run.stderr}`);
  const figures = JSON.parse(run.stdout) as ServiceFigures;
  if (figures.rules < count || figures.stored !== count)
    throw new Error(
      `bench:rules: the service holds ${figures.rules} native and ${figures.stored} stored rules, expected ${count}`,
    );
  return figures;
}

const stateDir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-rules-'));
try {
  const identifiers = Array.from({ length: count }, () => randomBytes(32).toString('hex'));
  const rulesFile = join(stateDir, 'rules.txt');
  writeFileSync(rulesFile, identifiers.join('\n'));
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
  // The baseline, measured in the same run: the same digests, already sorted, written to a bare
  // one-column SQLite table in one transaction. No store can write them faster than this.
  const baseline = new Database(join(stateDir, 'baseline.db'));
  baseline.pragma('journal_mode = WAL');
  baseline.pragma('synchronous = NORMAL');
  baseline.exec('CREATE TABLE digests (sha256 TEXT PRIMARY KEY) WITHOUT ROWID');
  const sorted = [...identifiers].sort();
  const insert = baseline.prepare('INSERT INTO digests VALUES (?)');
  const started = performance.now();
  baseline.transaction(() => {
    for (const identifier of sorted) insert.run(identifier);
  })();
  const baselineS = (performance.now() - started) / 1000;
  baseline.close();
  // Rules a server could pick to collide: 40,000 digests alike in all but their last bytes,
  // against 40,000 random ones, each loaded into a fresh native table in the same run.
  const loadMs = (alike: boolean) => {
    const n = 40_000;
    const digests = alike ? Buffer.alloc(32 * n, 0xab) : randomBytes(32 * n);
    if (alike) for (let i = 0; i < n; i++) digests.writeUInt32BE(i, i * 32 + 28);
    const monitor = new ExecMonitor();
    monitor.start({ backend: 'fake', mode: 'MONITOR' });
    const started = performance.now();
    monitor.addBinaryRules([{ digests, policies: new Uint8Array(n) }]);
    const ms = performance.now() - started;
    monitor.stop();
    return ms;
  };
  const randomMs = loadMs(false);
  const alikeMs = loadMs(true);
  const synced = service('sync', join(stateDir, 'state'), rulesFile, samplesFile);
  const restarted = service('start', join(stateDir, 'state'), samplesFile);
  const result = {
    rules: count,
    load_s: round(synced.load_s),
    baseline_sqlite_s: round(baselineS),
    load_vs_baseline: round(synced.load_s / baselineS),
    restart_s: round(restarted.load_s),
    alike_40k_vs_random: round(alikeMs / randomMs),
    lookup_p50_us: round(synced.lookup_p50_us, 3),
    lookup_p99_us: round(synced.lookup_p99_us, 3),
    rss_mb: Math.round(synced.rss_mb),
    restart_lookup_p99_us: round(restarted.lookup_p99_us, 3),
    restart_rss_mb: Math.round(restarted.rss_mb),
  };
  if (json) console.log(JSON.stringify(result, null, 2));
  else {
    console.log(`${result.rules} rules from a sync into a running service: ${result.load_s} s`);
    console.log(
      `baseline, the sorted digests into a bare SQLite table: ${result.baseline_sqlite_s} s (load is ×${result.load_vs_baseline})`,
    );
    console.log(`a fresh service starting on that store: ${result.restart_s} s`);
    console.log(
      `40,000 digests alike but for their last bytes load in ×${result.alike_40k_vs_random} the time of random ones`,
    );
    console.log(
      `native lookup p50 ${result.lookup_p50_us} µs, p99 ${result.lookup_p99_us} µs (after a restart: p99 ${result.restart_lookup_p99_us} µs)`,
    );
    console.log(`service RSS ${result.rss_mb} MB (after a restart: ${result.restart_rss_mb} MB)`);
  }
} finally {
  rmSync(stateDir, { recursive: true, force: true });
}
