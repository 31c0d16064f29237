// What one local user can make the control socket hold, with the limits made small: connections
// per user and for everyone but root, idle connections, replies nobody reads, approval requests
// with the syncs they start; and the service's descriptor limit. The callers are real processes
// of other users (root).
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../../../../main/agent/agent';
import { parseConfig } from '../../../../../main/agent/config/config';
import { ControlClient, ControlError } from '../../../../../main/agent/control/client';
import type { ConnectionLimits } from '../../../../../main/agent/control/connections';
import { ControlServer } from '../../../../../main/agent/control/server';
import {
  ensureOpenFileLimit,
  EXEC_PATH_DESCRIPTORS,
  raiseOpenFileLimit,
  readOpenFileLimit,
} from '../../../../../main/agent/limits';
import { copyExecutable, tempDir } from '../../../../helpers/files';
import { rootAvailable } from '../../../../helpers/prerequisites';
import { jsonLines } from '../../../../helpers/service-process';
import { until } from '../../../../helpers/wait';

const NOBODY = 65534;
const OTHER = 1000;
const flood = join(import.meta.dirname, '../../../fixtures/control-flood.mjs');
const rpcClient = join(import.meta.dirname, '../../../fixtures/rpc-client.mjs');

describe.runIf(rootAvailable('the control-socket limits tests'))(
  'control socket limits (root, callers of other users)',
  () => {
    const dir = tempDir('limits');
    let agent: Agent;
    let syncs = 0;
    const cleanups: (() => unknown)[] = [];
    let serial = 0;

    beforeAll(() => {
      chmodSync(dir.dir, 0o755);
      const { config } = parseConfig(
        JSON.stringify({
          ClientMode: 'LOCKDOWN',
          StateDir: join(dir.dir, 'state'),
          // Never reached: the sync the control socket asks for is counted, not run.
          SyncBaseURL: 'http://127.0.0.1:9/santa/',
        }),
        '/test/config.json',
        () => 'm',
      );
      agent = new Agent(config, { backend: 'fake' });
      agent.start();
    });
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });
    afterAll(() => {
      agent?.stop();
      dir.remove();
    });

    async function serve(
      limits: Partial<ConnectionLimits>,
      syncIntervalMs = 10_000,
    ): Promise<{ server: ControlServer; path: string }> {
      const path = join(dir.dir, `s${serial++}.sock`);
      const server = new ControlServer(agent, path, undefined, {
        requestSync: () => syncs++,
        limits,
        syncIntervalMs,
      });
      await server.listen();
      cleanups.push(() => server.close());
      return { server, path };
    }

    function asUser(uid: number, command: string, args: string[]): ChildProcess {
      const child = spawn(process.execPath, [command, ...args], {
        uid,
        gid: uid,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      cleanups.push(() => child.kill('SIGKILL'));
      return child;
    }

    /** Connections a user holds open and never uses. */
    async function hold(uid: number, path: string, count: number): Promise<void> {
      const holder = asUser(uid, flood, ['connections', path, String(count), String(count)]);
      const state = jsonLines<{ open: number; refused: number }>(holder);
      await until(() => state.last()?.open === count, `${count} connections of uid ${uid}`);
    }

    /** Raw request lines as a user; the reply lines, parsed. */
    async function rpc(uid: number, path: string, lines: unknown[], expected = lines.length) {
      const child = asUser(uid, rpcClient, [path, String(expected)]);
      let stdout = '';
      child.stdout!.on('data', (data: Buffer) => (stdout += data.toString()));
      child.stdin!.end(JSON.stringify(lines.map((line) => JSON.stringify(line))));
      await new Promise((resolve) => child.on('exit', resolve));
      return stdout
        .split('\n')
        .filter(Boolean)
        .map(
          (line) =>
            JSON.parse(line) as {
              id: unknown;
              // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each method its own shape
              result?: any;
              error?: { code: number; message: string };
            },
        );
    }
    /**
     * Waits for the service to close a flooding client, then expects nothing of it left paused
     * or connected and the refusal counted.
     */
    async function closedByService(
      server: ControlServer,
      state: { last(): { closedByService: boolean } | undefined },
      what: string,
      refused: Partial<ReturnType<ControlServer['status']>['controlSocket']['refused']>,
    ): Promise<void> {
      await until(() => state.last()?.closedByService === true, what);
      expect(server.status().controlSocket).toMatchObject({
        paused: 0,
        connections: { others: 0 },
        refused,
      });
    }
    const call = (id: number, method: string, params?: unknown) => ({
      jsonrpc: '2.0',
      id,
      method,
      ...(params ? { params } : {}),
    });

    it('refuses a user past their cap and everyone past the shared cap, saying which, and never root for it', async () => {
      const { server, path } = await serve({ perUser: 2, unprivileged: 3, root: 2 });
      await hold(NOBODY, path, 2);
      await hold(OTHER, path, 1);

      const [mine] = await rpc(NOBODY, path, [call(1, 'status')]);
      expect(mine).toEqual({
        jsonrpc: '2.0',
        id: null,
        error: {
          code: -32003,
          message:
            'too many connections: uid 65534 has 2 open to the Gatehouse service, the limit for one user is 2; close some (gatehousectl, the menu bar) and try again',
        },
      });
      const [shared] = await rpc(OTHER, path, [call(1, 'status')]);
      expect(shared?.error?.message).toBe(
        'too many connections: users other than root have 3 open to the Gatehouse service, the limit is 3; try again later',
      );

      // root's connections are counted apart: the others' load refuses none of them.
      const first = await ControlClient.connect(path);
      const second = await ControlClient.connect(path);
      cleanups.push(
        () => first.close(),
        () => second.close(),
      );
      const status = await first.call<ReturnType<ControlServer['status']>>('status');
      expect(status.mode).toBe('LOCKDOWN');
      expect(status.controlSocket).toMatchObject({
        connections: { root: 2, others: 3 },
        refused: { perUser: 1, unprivileged: 1, root: 0 },
      });
      // root has a cap of its own, and the client says what the service said.
      const third = await ControlClient.connect(path);
      cleanups.push(() => third.close());
      const refused = third.call('status');
      await expect(refused).rejects.toBeInstanceOf(ControlError);
      await expect(refused).rejects.toThrow(
        'too many connections: root has 2 open to the Gatehouse service, the limit for root is 2',
      );
      expect(server.status().controlSocket.refused.root).toBe(1);
    });

    it('closes a connection that sits idle, and says why; a subscriber may wait', async () => {
      const { server, path } = await serve({ idleMs: 1_000 });
      const idle = await ControlClient.connect(path);
      const subscriber = await ControlClient.connect(path);
      cleanups.push(
        () => idle.close(),
        () => subscriber.close(),
      );
      await subscriber.call('subscribe');
      let closed = false;
      idle.onClose(() => (closed = true));
      await until(() => closed, 'the idle connection to be closed', 5_000);
      await expect(idle.call('status')).rejects.toThrow(
        'closed: idle for 1 s without a request or a subscription; connect again when you need the service',
      );
      expect((await subscriber.call<{ mode: string }>('status')).mode).toBe('LOCKDOWN');
      expect(server.status().controlSocket.refused.idle).toBe(1);
    });

    it('stops reading from a client that does not read its replies, and drops it when they pile up', async () => {
      const { server, path } = await serve({ pauseBytes: 8 * 1024, dropBytes: 256 * 1024 });
      const rssBefore = process.memoryUsage().rss;
      const unread = asUser(NOBODY, flood, ['unread', path, String(8 * 1024 * 1024), 'subscribe']);
      const state = jsonLines<{ written: number; stalled: boolean; closedByService: boolean }>(
        unread,
      );
      await until(() => state.last()?.stalled === true, 'the unread client to stall', 30_000);
      expect(server.status().controlSocket.paused).toBe(1);
      expect(state.last()!.written).toBeLessThan(2 * 1024 * 1024);
      const grown = process.memoryUsage().rss - rssBefore;
      console.log(
        `unread client: sent ${state.last()!.written} bytes before its writes blocked; this process grew ${(grown / 1024 / 1024).toFixed(1)} MB`,
      );
      expect(grown).toBeLessThan(50 * 1024 * 1024);

      // What the service pushes to it still piles up; past dropBytes it is cut off.
      for (let i = 0; i < 400 && !state.last()?.closedByService; i++) {
        agent.recordSync(Date.now());
        await new Promise((resolve) => setImmediate(resolve));
      }
      await closedByService(server, state, 'the unread client to be dropped', { unreadReplies: 1 });
    });

    it('closes a client that stopped reading and went idle, even with no refusal left to linger', async () => {
      const { server, path } = await serve({ idleMs: 1_000, pauseBytes: 8 * 1024, lingering: 0 });
      const unread = asUser(NOBODY, flood, ['unread', path, String(8 * 1024 * 1024)]);
      const state = jsonLines<{ stalled: boolean; closedByService: boolean }>(unread);
      await closedByService(server, state, 'the idle unread client to go', { idle: 1 });
    });

    it('keeps one request per event and user, and starts no more syncs than `sync` may', async () => {
      const { server, path } = await serve({}, 1_500);
      const tools = ['first', 'second'].map((name) =>
        copyExecutable('/bin/true', join(dir.dir, name), `${name}-${Date.now()}`),
      );
      for (const [n, tool] of tools.entries())
        await agent.monitor.inject(tool, { pid: 7000 + n, ppid: 1, uid: NOBODY, gid: NOBODY });
      await until(() => agent.events.list({ uid: NOBODY }).length === 2, 'the two blocks');
      const [second, first] = agent.events.list({ uid: NOBODY });
      syncs = 0;

      const replies = await rpc(NOBODY, path, [
        call(1, 'requests.create', { eventId: first!.id, justification: 'I need it for work.' }),
        call(2, 'requests.create', { eventId: first!.id, justification: 'Please, it is urgent!' }),
        call(3, 'requests.list'),
        call(4, 'sync'),
        call(5, 'requests.create', { eventId: second!.id, justification: 'And this one too.' }),
        call(6, 'requests.create', { eventId: second!.id, justification: 'Again, really.' }),
      ]);
      expect(replies[1]?.result).toEqual(replies[0]?.result);
      expect(replies[0]?.result).toMatchObject({
        eventId: first!.id,
        justification: 'I need it for work.',
      });
      expect(replies[2]?.result).toHaveLength(1);
      // The request's sync counts as the user's: asking for another at once is refused.
      expect(replies[3]?.error).toMatchObject({ code: -32002 });
      expect(replies[3]?.error?.message).toMatch(/by sync or a new request\); wait 1\.5 s/);
      expect(replies[5]?.result.id).toBe(replies[4]?.result.id);
      expect(agent.requests.list(NOBODY)).toHaveLength(2);
      expect(syncs).toBe(1);
      // The second event's request goes with one sync once the interval has passed.
      await until(() => syncs === 2, 'the deferred sync', 5_000);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect(syncs).toBe(2);
      expect(server.status().controlSocket.refused).toMatchObject({
        duplicateRequest: 2,
        rateLimited: 1,
      });
    });
  },
);

describe("the service's descriptor limit", () => {
  it('raises a soft RLIMIT_NOFILE to the hard limit', async () => {
    const child = spawn('sh', ['-c', 'ulimit -Sn 256 && exec sleep 30'], { stdio: 'ignore' });
    try {
      await until(() => readOpenFileLimit(child.pid!)?.soft === 256, 'the lowered limit');
      const hard = readOpenFileLimit(child.pid!)!.hard;
      const raised = raiseOpenFileLimit(child.pid!);
      expect(raised).toEqual({ limit: { soft: hard, hard }, raisedFrom: 256 });
      expect(readOpenFileLimit(child.pid!)).toEqual({ soft: hard, hard });
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('says what to set when the limit leaves too little for the exec path', () => {
    const log: string[] = [];
    ensureOpenFileLimit(
      208,
      (line) => log.push(line),
      () => ({
        limit: { soft: 1024, hard: 1024 },
      }),
    );
    expect(log).toEqual([
      `gatehouse service: only 1024 open files allowed (RLIMIT_NOFILE 1024/1024); the exec monitor may need ${EXEC_PATH_DESCRIPTORS} while execs wait and the control socket up to 208, and an exec the kernel cannot hand a descriptor for is refused: set LimitNOFILE=65536 for the service`,
    ]);
    log.length = 0;
    ensureOpenFileLimit(
      208,
      (line) => log.push(line),
      () => ({
        limit: { soft: 524_288, hard: 524_288 },
        raisedFrom: 1024,
      }),
    );
    expect(log).toEqual(['gatehouse service: open files limit raised from 1024 to 524288']);
  });
});
