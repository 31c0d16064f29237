// The control socket with a real agent (fake exec source): who may do what is decided by the
// kernel's peer credentials, and bad input from one client never affects another.
import { spawn } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../../../../main/agent/agent';
import { CONTROL_METHODS } from '../../../../../common/control';
import { ControlClient, ControlError } from '../../../../../main/agent/control/client';
import { ControlServer } from '../../../../../main/agent/control/server';
import { parseConfig } from '../../../../../main/agent/config/config';
import { copyExecutable, sha256sum, tempDir } from '../../../../helpers/files';
import { rootAvailable } from '../../../../helpers/prerequisites';

const NOBODY = 65534;
const fixture = join(import.meta.dirname, '../../../fixtures/rpc-client.mjs');

describe('control socket', () => {
  const dir = tempDir('control');
  const socketPath = join(dir.dir, 'run', 'gatehouse.sock');
  let agent: Agent;
  let server: ControlServer;
  let binary: string;

  beforeAll(async () => {
    chmodSync(dir.dir, 0o755);
    const { config } = parseConfig(
      JSON.stringify({
        ClientMode: 'LOCKDOWN',
        StateDir: join(dir.dir, 'state'),
        SocketPath: socketPath,
      }),
      '/test/config.json',
      () => 'm',
    );
    agent = new Agent(config, { backend: 'fake' });
    agent.start();
    server = new ControlServer(agent, socketPath);
    await server.listen();
    binary = copyExecutable('/bin/true', join(dir.dir, 'tool'), `control-${Date.now()}`);
    // One blocked exec by nobody and one by uid 1000.
    await agent.monitor.inject(binary, { pid: 5001, ppid: 1, uid: NOBODY, gid: NOBODY });
    const other = copyExecutable('/bin/true', join(dir.dir, 'other'), `other-${Date.now()}`);
    await agent.monitor.inject(other, { pid: 5002, ppid: 1, uid: 1000, gid: 1000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
  });

  afterAll(async () => {
    await server?.close();
    agent?.stop();
    dir.remove();
  });

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each method replies with its own shape
  type Reply = { id?: unknown; result?: any; error?: { code: number; message: string } };
  /** Sends raw lines as another user; returns the parsed replies. (Asynchronous: the server
   * answering it lives on this very thread.) */
  function asUser(uid: number, lines: string[], expected = lines.length): Promise<Reply[]> {
    const child = spawn(process.execPath, [fixture, socketPath, String(expected)], {
      uid,
      gid: uid,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin.end(JSON.stringify(lines));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    return new Promise((resolve, reject) =>
      child.on('exit', (code) =>
        code === 0
          ? resolve(
              stdout
                .trim()
                .split('\n')
                .filter(Boolean)
                .map((line) => JSON.parse(line) as Reply),
            )
          : reject(new Error(`rpc client failed (${code}): ${stderr}`)),
      ),
    );
  }
  const call = (id: number, method: string, params?: unknown) =>
    JSON.stringify({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) });

  it('lets root do everything, through the same client the CLI uses', async () => {
    const client = await ControlClient.connect(socketPath);
    try {
      const status = await client.call<{ mode: string }>('status');
      expect(status.mode).toBe('LOCKDOWN');
      expect(await client.call<unknown[]>('events')).toHaveLength(2);
      await client.call('rules.add', {
        type: 'TEAMID',
        identifier: 'EQHXZ8M8AV',
        policy: 'ALLOWLIST',
      });
      expect(
        await client.call('rules.remove', { type: 'TEAMID', identifier: 'EQHXZ8M8AV' }),
      ).toEqual({ put: 0, removed: 1 });
      await expect(
        client.call('rules.add', { type: 'BINARY', identifier: 'zz', policy: 'ALLOWLIST' }),
      ).rejects.toThrow('identifier must be a SHA-256 (64 hex digits)');
    } finally {
      client.close();
    }
  });

  it('answers only the methods the contract declares, with params read by its declaration', async () => {
    const client = await ControlClient.connect(socketPath);
    try {
      for (const name of ['toString', 'hasOwnProperty', 'constructor', 'rules']) {
        await expect(client.call(name)).rejects.toMatchObject({
          code: -32601,
          message: `unknown method "${name}"`,
        });
      }
      await expect(client.call('rules.list', { limit: 0 })).rejects.toMatchObject({
        code: -32602,
        message: 'limit must be an integer from 1 to 10000',
      });
      expect(Array.isArray(await client.call('rules.list', { limit: 5 }))).toBe(true);
    } finally {
      client.close();
    }
  });

  it('refuses a rule the native table would refuse before it reaches the store', async () => {
    const client = await ControlClient.connect(socketPath);
    try {
      for (const [type, identifier, message] of [
        ['CDHASH', 'zz', 'CDHASH rule "zz" refused: the identifier must be 40 hex digits'],
        [
          'TEAMID',
          'é'.repeat(257),
          'the identifier must be 1 to 512 bytes of UTF-8, got 514 bytes',
        ],
        ['SIGNINGID', '', 'SIGNINGID rule "" refused: the identifier must be 1 to 512 bytes'],
      ] as const) {
        const refused = client.call('rules.add', { type, identifier, policy: 'ALLOWLIST' });
        await expect(refused).rejects.toThrow(message);
        await expect(refused).rejects.toMatchObject({ code: -32602 });
      }
      expect(agent.rules.counts()).toMatchObject({ CDHASH: 0, TEAMID: 0, SIGNINGID: 0 });
      // The service still takes good rules, canonicalised as the native table keeps them.
      expect(
        await client.call('rules.add', {
          type: 'CDHASH',
          identifier: 'AB'.repeat(20),
          policy: 'BLOCKLIST',
        }),
      ).toMatchObject({ type: 'CDHASH', identifier: 'ab'.repeat(20), policy: 'BLOCKLIST' });
      await client.call('rules.remove', { type: 'CDHASH', identifier: 'AB'.repeat(20) });
      expect(agent.rules.counts().CDHASH).toBe(0);
    } finally {
      client.close();
    }
  });

  describe.runIf(rootAvailable('the unprivileged-caller socket tests'))(
    'an unprivileged caller (nobody)',
    () => {
      it('reads status and only its own events, and is refused rules.add and setMode', async () => {
        const replies = await asUser(NOBODY, [
          call(1, 'status'),
          call(2, 'events'),
          call(3, 'rules.add', {
            type: 'BINARY',
            identifier: sha256sum(binary),
            policy: 'ALLOWLIST',
          }),
          call(4, 'setMode', { mode: 'MONITOR' }),
          call(5, 'flushCache'),
        ]);
        expect(replies[0]?.result.mode).toBe('LOCKDOWN');
        expect(replies[1]?.result.map((e: { uid: number }) => e.uid)).toEqual([NOBODY]);
        for (const [index, method] of [
          [2, 'rules.add'],
          [3, 'setMode'],
          [4, 'flushCache'],
        ] as const) {
          expect(replies[index]?.error).toEqual({
            code: -32001,
            message: `permission denied: ${method} needs root`,
          });
        }
        expect(agent.mode).toBe('LOCKDOWN');
        expect(agent.rules.counts().BINARY).toBe(0);
      });

      it('is refused each method the contract reserves for root, before its params are read', async () => {
        const rootOnly = Object.entries(CONTROL_METHODS)
          .filter(([, method]) => method.rootOnly)
          .map(([name]) => name);
        expect(rootOnly.length).toBeGreaterThan(0);
        const replies = await asUser(
          NOBODY,
          rootOnly.map((name, index) => call(index + 1, name, { limit: 'all', mode: 'nope' })),
        );
        expect(replies.map((reply) => reply.error)).toEqual(
          rootOnly.map((name) => ({
            code: -32001,
            message: `permission denied: ${name} needs root`,
          })),
        );
      });

      it("requests approval for its own event, never for another user's", async () => {
        const [own, other] = agent.events
          .list()
          .sort((a, b) => (a.uid === NOBODY ? -1 : b.uid === NOBODY ? 1 : 0));
        const replies = await asUser(NOBODY, [
          call(1, 'requests.create', {
            eventId: own!.id,
            justification: 'I need this tool for the release.',
          }),
          call(2, 'requests.create', {
            eventId: other!.id,
            justification: 'I need this tool for the release.',
          }),
          call(3, 'requests.create', { eventId: own!.id, justification: 'short' }),
          call(4, 'requests.list'),
        ]);
        expect(replies[0]?.result).toMatchObject({
          eventId: own!.id,
          uid: NOBODY,
          state: 'queued',
        });
        expect(replies[1]?.error?.message).toBe(`no event ${other!.id} of yours`);
        expect(replies[2]?.error?.message).toBe('justification must be at least 10 characters');
        expect(replies[3]?.result).toHaveLength(1);
      });

      it('refuses a request for an event that was never hashed: there is nothing to approve', async () => {
        const { id } = agent.events.record({
          sha256: '',
          path: join(dir.dir, 'huge'),
          uid: NOBODY,
          pid: 5003,
          ppid: 1,
          decision: 'BLOCK_UNKNOWN',
          reason: 'too-large',
        });
        const [reply] = await asUser(NOBODY, [
          call(1, 'requests.create', {
            eventId: id,
            justification: 'I need this tool for the release.',
          }),
        ]);
        expect(reply?.error?.message).toBe(
          `event ${id} has no SHA-256 (too-large): there is nothing the helpdesk could approve; ask IT about ${join(dir.dir, 'huge')}`,
        );
        expect(agent.requests.forEvent(id, NOBODY)).toBeFalsy();
      });

      it('answers malformed input with JSON-RPC errors and keeps serving', async () => {
        const replies = await asUser(NOBODY, [
          'this is not json',
          JSON.stringify({ jsonrpc: '1.0', id: 7, method: 'status' }),
          call(8, 'no.such.method'),
          call(9, 'events', { limit: 'all' }),
          JSON.stringify({ jsonrpc: '2.0', id: 10, method: 'status', params: [1, 2] }),
          call(11, '__proto__'),
          call(12, 'fileinfo', { sha256: 'a'.repeat(64), md5: 'not an md5' }),
          call(13, 'status'),
        ]);
        expect(replies.map((reply) => reply.error?.code ?? 'ok')).toEqual([
          -32700,
          -32600,
          -32601,
          -32602,
          -32602,
          -32601,
          -32602,
          'ok',
        ]);
        expect(replies[3]?.error?.message).toBe('limit must be an integer from 1 to 1000');
        expect(replies[6]?.error?.message).toBe('md5 must be an MD5 (32 hex digits)');
      });

      it('cuts off an oversized request, and other clients are unaffected', async () => {
        const other = await ControlClient.connect(socketPath);
        try {
          const replies = await asUser(NOBODY, ['x'.repeat(200 * 1024)], 1);
          expect(replies).toEqual([
            {
              jsonrpc: '2.0',
              id: null,
              error: {
                code: -32600,
                message: 'request too large: the limit is 65536 bytes per line',
              },
            },
          ]);
          expect((await other.call<{ mode: string }>('status')).mode).toBe('LOCKDOWN');
        } finally {
          other.close();
        }
      });

      it('limits how often a user may ask for a sync', async () => {
        const replies = await asUser(NOBODY, [call(1, 'sync'), call(2, 'sync')]);
        expect(replies[0]?.result).toEqual({
          started: false,
          reason: 'SyncBaseURL is not set in the config',
        });
        expect(replies[1]?.error?.code).toBe(-32002);
      });
    },
  );

  it('pushes a subscriber its own block events', async () => {
    const client = await ControlClient.connect(socketPath);
    try {
      const pushed: unknown[] = [];
      client.onNotification((method, params) => pushed.push({ method, params }));
      await client.call('subscribe');
      const mine = copyExecutable('/bin/true', join(dir.dir, 'mine'), `mine-${Date.now()}`);
      await agent.monitor.inject(mine, { pid: 6001, ppid: 1, uid: process.getuid!(), gid: 0 });
      await agent.monitor.inject(binary, { pid: 6002, ppid: 1, uid: 4321, gid: 4321 }); // someone else's
      const deadline = Date.now() + 3000;
      while (pushed.length === 0 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(pushed).toEqual([
        {
          method: 'event',
          params: expect.objectContaining({ fileName: 'mine', decision: 'BLOCK_UNKNOWN' }),
        },
      ]);
    } finally {
      client.close();
    }
  });

  it('reports a refusal as a ControlError with its code', async () => {
    const client = await ControlClient.connect(socketPath);
    try {
      await expect(client.call('setMode', { mode: 'STANDALONE' })).rejects.toBeInstanceOf(
        ControlError,
      );
    } finally {
      client.close();
    }
  });
});
