// npm run bench:server [-- --json] [--machines N] [--roundtrips N] [--rules N] [--rounds N]
// The backend under load from this process, on SQLite and on PostgreSQL: sync round trips per
// second (preflight + ruledownload with nothing new + postflight) across many enrolled
// machines; events ingested per second; a clean sync of 100,000 rules (seconds, and the server's
// peak memory, VmHWM, read from /proc). Each engine's round trips alternate with Fastify alone's,
// `--rounds` times; the figure is the median of the rounds' ratios.
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openServerDatabase } from '../../server/db/connect';
import { MachineRepository } from '../../server/db/machines';
import { startPostgres } from '../helpers/postgres';
import { json, numberOption } from './command-line';

const MACHINES = numberOption('--machines', 1000);
const ROUNDTRIPS = numberOption('--roundtrips', 4000);
const RULES = numberOption('--rules', 100_000);
const ROUNDS = numberOption('--rounds', 3);
// Never more round trips in flight than machines: two of one machine would end each other's sync.
const CONCURRENCY = Math.min(32, MACHINES);
const log = (line: string) => {
  if (!json) console.log(line);
};

async function startServer(
  script: string,
  ...argv: string[]
): Promise<{ base: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, script), ...argv],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const base = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (data: Buffer) => resolve(data.toString().trim()));
    child.once('exit', (code) => reject(new Error(`bench:server: the server exited (${code})`)));
  });
  return { base, child };
}

async function stopServer(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

// node:http with keep-alive: the load generator shares the 2 cores with the server, so it
// should spend as little of them as it can.
const keepAlive = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function postJson(
  base: string,
  path: string,
  token: string | undefined,
  body: unknown,
): Promise<Record<string, unknown>> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      {
        method: 'POST',
        agent: keepAlive,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if (response.statusCode !== 200)
            reject(new Error(`bench:server: ${path} answered ${response.statusCode}: ${text}`));
          else resolve(JSON.parse(text) as Record<string, unknown>);
        });
        response.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const syncing = new Set<number>();

/** Round trip `n` of the measured ones: of the next machine not in a round trip already. */
async function nthRoundtrip(base: string, n: number, tokens?: string[]): Promise<void> {
  let i = n % MACHINES;
  while (syncing.has(i)) i = (i + 1) % MACHINES;
  syncing.add(i);
  try {
    await roundtrip(base, i, tokens?.[i]);
  } finally {
    syncing.delete(i);
  }
}

/** One sync round trip without rules to fetch: preflight, ruledownload, postflight. */
async function roundtrip(base: string, i: number, token?: string): Promise<void> {
  const machine = `m-${i}`;
  await postJson(base, `/santa/preflight/${machine}`, token, {
    client_mode: 'LOCKDOWN',
    serial_num: 's',
    machine_id: machine,
  });
  await postJson(base, `/santa/ruledownload/${machine}`, token, { machine_id: machine });
  await postJson(base, `/santa/postflight/${machine}`, token, {
    machine_id: machine,
    rules_received: 0,
    rules_processed: 0,
  });
}

/** Fastify alone, the baseline: running for the whole run beside each engine's server. */
async function startBaseline(): Promise<{ base: string; child: ChildProcess }> {
  const baseline = await startServer('baseline-server.ts');
  await pool(MACHINES, (i) => roundtrip(baseline.base, i));
  return baseline;
}

const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const hundredths = (value: number) => Math.round(value * 100) / 100;

/**
 * An engine's round trips per second against Fastify alone's, in ROUNDS pairs taken one after
 * the other: this machine's speed drifts within a run (other work on the two cores, the load
 * generator's own pace), so each engine round is compared with the baseline round just before
 * it, and the median of those ratios is the figure.
 */
async function roundtripsAgainstBaseline(
  engine: string,
  baseline: string,
  base: string,
  tokens: string[],
) {
  const alone: number[] = [];
  const engineRounds: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    alone.push(ROUNDTRIPS / (await pool(ROUNDTRIPS, (n) => nthRoundtrip(baseline, n))));
    engineRounds.push(ROUNDTRIPS / (await pool(ROUNDTRIPS, (n) => nthRoundtrip(base, n, tokens))));
    log(
      `${engine}, round ${round + 1}: ${Math.round(engineRounds[round]!)} round trips/s, Fastify alone ${Math.round(alone[round]!)}`,
    );
  }
  const ratios = engineRounds.map((value, round) => hundredths(value / alone[round]!));
  return {
    roundtrips_per_s: Math.round(median(engineRounds)),
    roundtrips_vs_baseline: median(ratios),
    roundtrip_ratios: ratios,
    baseline_roundtrips_per_s: Math.round(median(alone)),
  };
}

const peakMb = (pid: number) => {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmHWM:'));
  return Math.round(Number(line?.split(/\s+/)[1] ?? 0) / 1024);
};

async function pool(total: number, work: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < total) await work(next++);
    }),
  );
  return (performance.now() - started) / 1000;
}

async function measure(engine: 'sqlite' | 'postgres', baseline: string) {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-server-'));
  const postgres = engine === 'postgres' ? await startPostgres() : undefined;
  const url = postgres ? await postgres.database('bench') : undefined;
  try {
    // Machines are enrolled straight into the database: enrollment is not what is measured.
    const db = await openServerDatabase(dataDir, url);
    const machines = new MachineRepository(db);
    const tokens: string[] = [];
    for (let i = 0; i < MACHINES; i++) tokens.push(await machines.enroll(`m-${i}`, {}));
    await db.destroy();
    const { base, child } = await startServer('server-process.ts', dataDir, url ?? '');
    try {
      const post = (stage: string, i: number, body: unknown) =>
        postJson(base, `/santa/${stage}/m-${i}`, tokens[i], body);
      // Every machine syncs once (its first, clean, sync), then the measured round trips.
      await pool(MACHINES, (i) => roundtrip(base, i, tokens[i]));
      const roundtrips = await roundtripsAgainstBaseline(engine, baseline, base, tokens);

      const BATCH = 50;
      const batches = 400;
      const eventsS = await pool(batches, async (n) => {
        const machine = n % MACHINES;
        await post('eventupload', machine, {
          events: Array.from({ length: BATCH }, (_, k) => ({
            file_sha256: ((n * BATCH + k) % 5000).toString(16).padStart(64, '0'),
            file_path: '/usr/local/bin',
            file_name: `tool-${k}`,
            execution_time: 1_700_000_000 + n * BATCH + k,
            decision: 'BLOCK_UNKNOWN',
            pid: k,
          })),
        });
      });
      log(`${engine}: ${batches * BATCH} events in ${eventsS.toFixed(2)} s`);

      // 100,000 rules written straight to the database, then one machine's clean sync.
      const writer = await openServerDatabase(dataDir, url);
      const now = Date.now();
      const start = Number(
        (
          await writer
            .selectFrom('counters')
            .select('value')
            .where('name', '=', 'rule_version')
            .executeTakeFirstOrThrow()
        ).value,
      );
      for (let offset = 0; offset < RULES; offset += 1000) {
        await writer
          .insertInto('rules')
          .values(
            Array.from({ length: Math.min(1000, RULES - offset) }, (_, k) => ({
              // Distinct digests: padded with 'f', 0xf and 0xff would be the same one, and
              // the sync sends one rule per (identifier, rule type).
              identifier: `f${(offset + k).toString(16).padStart(63, '0')}`,
              rule_type: 'BINARY',
              policy: 'ALLOWLIST',
              custom_msg: null,
              custom_url: null,
              scope: 'global',
              scope_value: null,
              expires_at: null,
              comment: null,
              created_by: 'bench',
              created_at: now,
              deleted: 0,
              version: start + offset + k + 1,
            })),
          )
          .execute();
      }
      await writer
        .updateTable('counters')
        .set({ value: start + RULES })
        .where('name', '=', 'rule_version')
        .execute();
      await writer.destroy();
      const clean = performance.now();
      const received = await (async () => {
        await post('preflight', 0, { request_clean_sync: true });
        let count = 0;
        let cursor: unknown;
        do {
          const page = await post('ruledownload', 0, cursor ? { cursor } : {});
          count += (page.rules as unknown[]).length;
          cursor = page.cursor;
        } while (cursor);
        await post('postflight', 0, { rules_received: count });
        return count;
      })();
      const cleanS = (performance.now() - clean) / 1000;
      if (received < RULES)
        throw new Error(`bench:server: the clean sync brought ${received} rules, not ${RULES}`);
      const peak = peakMb(child.pid!);
      log(
        `${engine}: clean sync of ${received} rules in ${cleanS.toFixed(2)} s, server peak ${peak} MB`,
      );
      return {
        ...roundtrips,
        events_per_s: Math.round((batches * BATCH) / eventsS),
        clean_sync_100k_s: Math.round(cleanS * 100) / 100,
        clean_sync_peak_mb: peak,
      };
    } finally {
      await stopServer(child);
    }
  } finally {
    await postgres?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const baseline = await startBaseline();
let result;
try {
  result = {
    sqlite: await measure('sqlite', baseline.base),
    postgres: await measure('postgres', baseline.base),
    machines: MACHINES,
    concurrency: CONCURRENCY,
  };
} finally {
  await stopServer(baseline.child);
}
keepAlive.destroy();
console.log(json ? JSON.stringify(result, null, 2) : JSON.stringify(result));
