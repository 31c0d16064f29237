// The agent's sync client against the real backend over HTTP on 127.0.0.1, and against a
// hand-written Santa-style server that uses the protocol's older spellings.
import { createServer, type Server } from 'node:http';
import { inflateSync } from 'node:zlib';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../../../../main/agent/agent';
import { parseConfig } from '../../../../../main/agent/config/config';
import { SyncClient, SyncError } from '../../../../../main/agent/sync/client';
import type { Repositories } from '../../../../../server/app';
import { copyExecutable, sha256sum } from '../../../../helpers/files';
import { useScratchPerTest } from '../../../../helpers/scratch';
import { startTestServer } from '../../../../helpers/server';

const SECRET = 'sync-client-secret';
const WHO = { pid: 4242, ppid: 1, uid: 1000, gid: 1000 };
const { scratch, cleanups } = useScratchPerTest('sync-agent');

function newAgent(mode: 'MONITOR' | 'LOCKDOWN' = 'LOCKDOWN'): { agent: Agent; dir: string } {
  const dir = scratch();
  const { config } = parseConfig(
    JSON.stringify({ ClientMode: mode, StateDir: join(dir, 'state'), MachineID: 'sync-test' }),
    '/t',
    () => 'm',
  );
  const agent = new Agent(config, { backend: 'fake' });
  agent.start();
  cleanups.push(() => agent.stop());
  return { agent, dir };
}

describe('sync client against the Gatehouse backend', () => {
  let repos: Repositories;
  let base: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const server = await startTestServer('sqlite', { enrollmentSecret: SECRET, pageSize: 2 });
    ({ repos, close } = server);
    base = `${server.base}/santa/`;
  });
  afterAll(() => close?.());

  async function client(agent: Agent, machineId: string): Promise<SyncClient> {
    const token = await repos.machines.enroll(machineId, {});
    return new SyncClient(agent, { baseUrl: base, machineId, token, retries: 0 });
  }

  it('brings the rules into the store and the native table, and uploads events only once accepted', async () => {
    const { agent, dir: scratch } = newAgent();
    const sync = await client(agent, 'agent-1');
    const allowed = copyExecutable('/bin/true', join(scratch, 'allowed'), `allowed-${Date.now()}`);
    const blocked = copyExecutable('/bin/true', join(scratch, 'blocked'), `blocked-${Date.now()}`);
    expect(await agent.monitor.inject(blocked, WHO)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(agent.events.countPendingUpload()).toBe(1);
    const ruleIds = [
      await repos.rules.put({
        identifier: sha256sum(allowed),
        rule_type: 'BINARY',
        policy: 'ALLOWLIST',
        scope: 'global',
        created_by: 't',
      }),
      await repos.rules.put({
        identifier: 'a'.repeat(64),
        rule_type: 'BINARY',
        policy: 'BLOCKLIST',
        scope: 'machine',
        scope_value: 'agent-1',
        created_by: 't',
        custom_msg: 'no',
      }),
      await repos.rules.put({
        identifier: 'EQHXZ8M8AV',
        rule_type: 'TEAMID',
        policy: 'ALLOWLIST',
        scope: 'global',
        created_by: 't',
      }),
    ];

    const first = await sync.sync();
    expect(first).toMatchObject({ syncType: 'CLEAN', eventsUploaded: 1, rulesProcessed: 3 });
    expect(agent.events.countPendingUpload()).toBe(0);
    expect(await repos.events.count('agent-1')).toBe(1);
    expect(agent.rules.get('BINARY', 'a'.repeat(64))).toMatchObject({
      policy: 'BLOCKLIST',
      customMsg: 'no',
      source: 'sync',
    });
    expect(await agent.monitor.inject(allowed, WHO)).toBe(true);
    expect(agent.status().lastSync).not.toBeNull();

    await repos.rules.remove(ruleIds[0]!);
    const second = await sync.sync();
    expect(second).toMatchObject({ syncType: 'NORMAL', rulesReceived: 1 });
    expect(agent.rules.get('BINARY', sha256sum(allowed))).toBeUndefined();
    expect(await agent.monitor.inject(allowed, WHO)).toBe(false);
    for (const id of ruleIds.slice(1)) await repos.rules.remove(id);
  });

  it('a clean sync replaces every synced rule, and leaves local ones', async () => {
    const { agent } = newAgent();
    const sync = await client(agent, 'agent-2');
    await sync.sync();
    agent.rules.apply(
      [{ type: 'BINARY', identifier: 'b'.repeat(64), policy: 'ALLOWLIST' }],
      'sync',
    ); // stale
    agent.rules.apply(
      [{ type: 'BINARY', identifier: 'c'.repeat(64), policy: 'ALLOWLIST' }],
      'local',
    );
    sync.requestCleanSync();
    expect((await sync.sync()).syncType).toBe('CLEAN');
    expect(agent.rules.get('BINARY', 'b'.repeat(64))).toBeUndefined();
    expect(agent.rules.get('BINARY', 'c'.repeat(64))).toMatchObject({ source: 'local' });
  });

  it('keeps events and says why when the server cannot be reached', async () => {
    const { agent, dir: scratch } = newAgent();
    const path = copyExecutable('/bin/true', join(scratch, 'offline'), `offline-${Date.now()}`);
    await agent.monitor.inject(path, WHO);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const sync = new SyncClient(agent, {
      baseUrl: 'http://127.0.0.1:9/santa/',
      machineId: 'offline',
      retries: 1,
      retryDelayMs: 10,
    });
    await expect(sync.sync()).rejects.toThrow(/preflight: cannot reach http:\/\/127\.0\.0\.1:9/);
    expect(agent.events.countPendingUpload()).toBe(1);
  });

  it("is refused with the server's reason when its token is wrong", async () => {
    const { agent } = newAgent();
    await repos.machines.enroll('agent-3', {});
    const sync = new SyncClient(agent, {
      baseUrl: base,
      machineId: 'agent-3',
      token: 'wrong',
      retries: 2,
      retryDelayMs: 10,
    });
    await expect(sync.sync()).rejects.toThrow(
      'preflight: the server answered 401: {"error":"unknown machine token: enroll again"}',
    );
  });
});

describe('sync client against a Santa-style server with older spellings', () => {
  let server: Server;
  let base: string;
  let replies: Record<string, (body: Record<string, unknown>) => string>;
  const received: Record<string, unknown[]> = {};

  beforeAll(async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const stage = request.url!.split('/')[1]!;
        const body = JSON.parse(inflateSync(Buffer.concat(chunks)).toString()) as Record<
          string,
          unknown
        >;
        (received[stage] ??= []).push(body);
        response
          .writeHead(200, { 'content-type': 'application/json' })
          .end(replies[stage]?.(body) ?? '{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('honours clean_sync, WHITELIST, sha256 for identifier, camelCase keys, XSSI prefixes and client_mode', async () => {
    const { agent } = newAgent('MONITOR');
    replies = {
      preflight: () =>
        `)]}'\n${JSON.stringify({ clean_sync: true, batchSize: 10, client_mode: 'LOCKDOWN', fullSyncInterval: 30 })}`,
      ruledownload: (body) =>
        body.cursor === undefined
          ? JSON.stringify({
              rules: [{ sha256: 'd'.repeat(64), policy: 'WHITELIST', rule_type: 'BINARY' }],
              cursor: 'page-2',
            })
          : JSON.stringify({
              rules: [
                {
                  identifier: 'e'.repeat(64),
                  policy: 'BLACKLIST',
                  ruleType: 'BINARY',
                  customMsg: 'nope',
                },
                { identifier: 'not-a-hash', policy: 'ALLOWLIST', rule_type: 'BINARY' }, // skipped, as Santa does
                { identifier: 'f'.repeat(64), policy: 'SOMETHING_NEW', rule_type: 'BINARY' }, // skipped
              ],
            }),
    };
    const sync = new SyncClient(agent, { baseUrl: base, machineId: 'santa-style', retries: 0 });
    const result = await sync.sync();
    expect(result).toMatchObject({
      syncType: 'CLEAN',
      rulesReceived: 4,
      rulesProcessed: 2,
      clientMode: 'LOCKDOWN',
      fullSyncIntervalS: 60,
    });
    expect(agent.rules.get('BINARY', 'd'.repeat(64))?.policy).toBe('ALLOWLIST');
    expect(agent.rules.get('BINARY', 'e'.repeat(64))).toMatchObject({
      policy: 'BLOCKLIST',
      customMsg: 'nope',
    });
    expect(agent.mode).toBe('LOCKDOWN'); // applied after postflight
    expect(received.ruledownload?.[1]).toMatchObject({
      cursor: 'page-2',
      machine_id: 'santa-style',
    });
    expect(received.postflight?.[0]).toMatchObject({
      rules_received: 4,
      rules_processed: 2,
      sync_type: 'CLEAN',
    });
  });

  it('applies nothing when a page is malformed', async () => {
    const { agent } = newAgent();
    replies = {
      ruledownload: (body) =>
        body.cursor === undefined
          ? JSON.stringify({
              rules: [{ identifier: '1'.repeat(64), policy: 'ALLOWLIST', rule_type: 'BINARY' }],
              cursor: { page: 2 },
            })
          : '{}',
    };
    const sync = new SyncClient(agent, { baseUrl: base, machineId: 'broken', retries: 0 });
    await expect(sync.sync()).rejects.toThrow(SyncError);
    await expect(sync.sync()).rejects.toThrow(
      'ruledownload: the server sent a cursor that is not a string; nothing was applied',
    );
    expect(agent.rules.get('BINARY', '1'.repeat(64))).toBeUndefined();
  });
});
