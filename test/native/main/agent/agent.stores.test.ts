// The agent's stores on real SQLite, and the native table kept in step with them.
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Agent } from '../../../../main/agent/agent';
import { parseConfig, type AgentConfig } from '../../../../main/agent/config/config';
import { openDatabase } from '../../../../main/agent/store/database';
import { EventStore } from '../../../../main/agent/store/events';
import { RuleStore, type StoreChange } from '../../../../main/agent/store/rules';
import { copyExecutable, sha256sum } from '../../../helpers/files';
import { useScratchPerTest } from '../../../helpers/scratch';
import { until } from '../../../helpers/wait';

const { scratch, cleanups } = useScratchPerTest('store');
const sha = (n: number) => n.toString(16).padStart(64, '0');

describe('rule store', () => {
  it('applies puts and removals, counts by type, and tells listeners the effective change', () => {
    const db = openDatabase(scratch());
    cleanups.push(() => db.close());
    const store = new RuleStore(db);
    const deltas: unknown[] = [];
    store.onChange((delta) => deltas.push(delta));
    store.apply(
      [
        { type: 'BINARY', identifier: sha(1).toUpperCase(), policy: 'ALLOWLIST' },
        { type: 'TEAMID', identifier: 'EQHXZ8M8AV', policy: 'BLOCKLIST', customMsg: 'not here' },
      ],
      'sync',
    );
    expect(store.counts()).toMatchObject({ BINARY: 1, TEAMID: 1, CDHASH: 0 });
    expect(store.get('BINARY', sha(1))).toMatchObject({ policy: 'ALLOWLIST', source: 'sync' });
    expect(store.get('TEAMID', 'EQHXZ8M8AV')?.customMsg).toBe('not here');
    store.apply([{ type: 'BINARY', identifier: sha(1), policy: 'REMOVE' }], 'local');
    expect(deltas).toEqual([
      [
        { type: 'BINARY', identifier: sha(1), policy: 'ALLOWLIST' },
        { type: 'TEAMID', identifier: 'EQHXZ8M8AV', policy: 'BLOCKLIST' },
      ],
      [{ type: 'BINARY', identifier: sha(1), policy: 'REMOVE' }],
    ]);
  });

  it('refuses a change holding a malformed BINARY identifier, and keeps none of it', () => {
    const db = openDatabase(scratch());
    cleanups.push(() => db.close());
    const store = new RuleStore(db);
    for (const listening of [false, true]) {
      if (listening) store.onChange(() => undefined);
      expect(() =>
        store.apply(
          [
            { type: 'BINARY', identifier: sha(1), policy: 'ALLOWLIST' },
            { type: 'BINARY', identifier: `${sha(2).slice(1)}g`, policy: 'ALLOWLIST' },
          ],
          'sync',
        ),
      ).toThrow(
        /^BINARY rule "0+2g" refused: the identifier must be a SHA-256 \(64 hex digits\); no rule of this change was applied$/,
      );
      expect(store.counts().BINARY).toBe(0);
    }
  });

  it('keeps the last change to each target in a large change, whatever the case or order', () => {
    const db = openDatabase(scratch());
    cleanups.push(() => db.close());
    const store = new RuleStore(db);
    // 3,000 targets, each named up to three times (upper and lower case), shuffled; the last
    // change given for a target is the one that must hold.
    const changes: StoreChange[] = [];
    const expected = new Map<string, string>();
    const policies = ['ALLOWLIST', 'BLOCKLIST', 'REMOVE'] as const;
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 3; round++) {
      for (let n = 0; n < 3_000; n++) {
        if (round > 0 && random() < 0.5) continue;
        // Shares its leading digits with its neighbours, so the full comparison is needed too.
        const identifier = `${(n >> 4).toString(16).padStart(8, '0')}${sha(n).slice(8)}`;
        const policy = policies[Math.floor(random() * 3)]!;
        changes.push({
          type: 'BINARY',
          identifier: random() < 0.5 ? identifier.toUpperCase() : identifier,
          policy,
        });
        expected.set(identifier, policy);
      }
    }
    store.apply(changes, 'sync');
    const kept = [...expected].filter(([, policy]) => policy !== 'REMOVE');
    expect(store.counts().BINARY).toBe(kept.length);
    for (const [identifier, policy] of expected)
      expect(store.get('BINARY', identifier)?.policy ?? 'REMOVE').toBe(policy);
    expect(store.list(10_000).map((rule) => rule.identifier)).toEqual(
      kept.map(([identifier]) => identifier).sort(),
    );
  });

  it('lets static rules win over synced ones for the same target', () => {
    const db = openDatabase(scratch());
    cleanups.push(() => db.close());
    const store = new RuleStore(db, [{ type: 'BINARY', identifier: sha(2), policy: 'BLOCKLIST' }]);
    const deltas: unknown[] = [];
    store.onChange((delta) => deltas.push(delta));
    store.apply([{ type: 'BINARY', identifier: sha(2), policy: 'ALLOWLIST' }], 'sync');
    expect(deltas).toEqual([[{ type: 'BINARY', identifier: sha(2), policy: 'BLOCKLIST' }]]);
    expect(store.effective()).toEqual([
      { type: 'BINARY', identifier: sha(2), policy: 'BLOCKLIST' },
    ]);
    store.setStaticRules([]);
    expect(store.effective()).toEqual([
      { type: 'BINARY', identifier: sha(2), policy: 'ALLOWLIST' },
    ]);
  });

  it('hashes the rule set the same whatever order the rules came in', () => {
    const [a, b] = [openDatabase(scratch()), openDatabase(scratch())];
    cleanups.push(
      () => a.close(),
      () => b.close(),
    );
    const rules = [1, 2, 3].map((n) => ({
      type: 'BINARY' as const,
      identifier: sha(n),
      policy: 'ALLOWLIST' as const,
    }));
    new RuleStore(a).apply(rules, 'sync');
    const second = new RuleStore(b);
    second.apply([...rules].reverse(), 'sync');
    expect(new RuleStore(a).rulesHash()).toBe(second.rulesHash());
    second.apply([{ type: 'BINARY', identifier: sha(3), policy: 'BLOCKLIST' }], 'sync');
    expect(new RuleStore(a).rulesHash()).not.toBe(second.rulesHash());
  });

  it('removes expired rules and says so', () => {
    const db = openDatabase(scratch());
    cleanups.push(() => db.close());
    const store = new RuleStore(db);
    store.apply(
      [{ type: 'BINARY', identifier: sha(4), policy: 'ALLOWLIST', expiresAt: 1000 }],
      'sync',
    );
    const deltas: unknown[] = [];
    store.onChange((delta) => deltas.push(delta));
    expect(store.expire(999)).toBe(0);
    expect(store.expire(1000)).toBe(1);
    expect(deltas).toEqual([[{ type: 'BINARY', identifier: sha(4), policy: 'REMOVE' }]]);
  });

  it('is exactly the old or the new rule set after a SIGKILL in the middle of 100,000 rules', async () => {
    const dir = scratch();
    const fixture = join(import.meta.dirname, '../../fixtures/apply-rules.ts');
    const run = (args: string[], killAfterMs?: number) =>
      new Promise<string>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', fixture, dir, ...args], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let output = '';
        child.stdout.on('data', (data: Buffer) => {
          output += data.toString();
          if (killAfterMs !== undefined && output.includes('applying'))
            setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        });
        child.on('exit', () => resolve(output));
      });
    expect(await run(['1000', 'old'])).toContain('applied'); // the old set: 1,000 rules
    const outcomes = new Set<number>();
    for (const delay of [5, 40, 120]) {
      const output = await run(['100000', 'new'], delay);
      const db = openDatabase(dir);
      const count = new RuleStore(db).counts().BINARY;
      db.close();
      expect([1000, 101_000]).toContain(count);
      if (!output.includes('applied')) expect(count).toBe(1000);
      outcomes.add(count);
    }
    expect(outcomes.has(1000)).toBe(true); // at least one kill landed mid-transaction
  }, 120_000);
});

describe('event store', () => {
  const event = {
    sha256: sha(9),
    path: '/tmp/x/tool',
    uid: 1000,
    pid: 10,
    ppid: 1,
    decision: 'BLOCK_UNKNOWN' as const,
  };

  it('keeps identical blocks within 10 minutes as one event with a count', () => {
    const db = openDatabase(scratch());
    cleanups.push(() => db.close());
    const store = new EventStore(db);
    const first = store.record({ ...event, time: 1000 });
    expect(store.record({ ...event, time: 1300 })).toEqual({ id: first.id, merged: true });
    expect(store.record({ ...event, time: 1300 + 601 }).merged).toBe(false);
    expect(store.get(first.id)).toMatchObject({
      occurrences: 2,
      filePath: '/tmp/x',
      fileName: 'tool',
      lastSeen: 1300,
    });
  });

  it('drops the oldest allows first when full, and counts the loss', () => {
    const db = openDatabase(scratch());
    cleanups.push(() => db.close());
    const store = new EventStore(db, 100);
    const block = store.record({ ...event, time: 1 });
    for (let i = 0; i < 150; i++)
      store.record({ ...event, sha256: sha(100 + i), decision: 'ALLOW_UNKNOWN', time: 2 + i });
    expect(store.list({ limit: 1000 })).toHaveLength(100);
    expect(store.get(block.id)).toBeDefined();
    expect(store.dropped()).toBe(51);
  });

  it("lists only the caller's events unless asked for all", () => {
    const db = openDatabase(scratch());
    cleanups.push(() => db.close());
    const store = new EventStore(db);
    store.record(event);
    store.record({ ...event, uid: 2000, sha256: sha(10) });
    expect(store.list({ uid: 1000 }).map((e) => e.uid)).toEqual([1000]);
    expect(store.list()).toHaveLength(2);
  });
});

describe('agent with the fake exec source', () => {
  function config(overrides: Record<string, unknown> = {}): AgentConfig {
    return parseConfig(
      JSON.stringify({ StateDir: scratch(), ClientMode: 'LOCKDOWN', ...overrides }),
      '/test/config.json',
      () => 'm',
    ).config;
  }

  it('keeps the native table in step with the store, and records blocks as events', async () => {
    const agent = new Agent(config(), { backend: 'fake' });
    agent.start();
    cleanups.push(() => agent.stop());
    const path = copyExecutable('/bin/true', join(scratch(), 'tool'), `agent-${Date.now()}`);
    const messages: unknown[] = [];
    agent.onMessage((message) => messages.push(message));
    const who = { pid: 4242, ppid: 1, uid: 1000, gid: 1000 };
    expect(await agent.monitor.inject(path, who)).toBe(false);
    agent.rules.apply(
      [{ type: 'BINARY', identifier: sha256sum(path), policy: 'ALLOWLIST' }],
      'local',
    );
    expect(await agent.monitor.inject(path, who)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const events = agent.events.list({ uid: 1000 });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      decision: 'BLOCK_UNKNOWN',
      fileSha256: sha256sum(path),
      uid: 1000,
    });
    expect(messages).toContainEqual(expect.objectContaining({ kind: 'event', uid: 1000 }));
    expect(agent.status()).toMatchObject({
      mode: 'LOCKDOWN',
      monitorRunning: true,
      ruleCounts: { BINARY: 1 },
    });
  });

  it('hands a large sync to the native table in bulk, and a clean sync removes what it lacks', async () => {
    const dir = scratch();
    const [kept, dropped, shadowed] = ['kept', 'dropped', 'shadowed'].map((name) =>
      copyExecutable('/bin/true', join(dir, name), `${name}-${Date.now()}`),
    ) as [string, string, string];
    // A static BLOCKLIST rule wins over the synced ALLOWLIST for the same binary.
    const agent = new Agent(
      config({
        StaticRules: [
          { identifier: sha256sum(shadowed), policy: 'BLOCKLIST', rule_type: 'BINARY' },
        ],
      }),
      { backend: 'fake' },
    );
    agent.start();
    cleanups.push(() => agent.stop());
    const who = { pid: 4243, ppid: 1, uid: 1000, gid: 1000 };
    const many = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({
        type: 'BINARY' as const,
        identifier: sha(from + i),
        policy: 'ALLOWLIST' as const,
      }));
    const allow = (path: string) => ({
      type: 'BINARY' as const,
      identifier: sha256sum(path),
      policy: 'ALLOWLIST' as const,
    });
    const bulk: number[] = [];
    agent.rules.onChange((_delta, chunks) => bulk.push(chunks.length));
    agent.rules.replace([...many(1, 5_000), allow(kept), allow(dropped), allow(shadowed)], 'sync');
    expect(bulk).toEqual([1]);
    expect(agent.monitor.metrics().rules).toBe(5_003);
    expect(await agent.monitor.inject(kept, who)).toBe(true);
    expect(await agent.monitor.inject(dropped, who)).toBe(true);
    expect(await agent.monitor.inject(shadowed, who)).toBe(false);
    agent.rules.replace([...many(2_001, 5_000), allow(kept)], 'sync');
    expect(agent.monitor.metrics().rules).toBe(5_002);
    expect(await agent.monitor.inject(kept, who)).toBe(true);
    expect(await agent.monitor.inject(dropped, who)).toBe(false);
    expect(await agent.monitor.inject(shadowed, who)).toBe(false);
    expect(agent.rules.counts().BINARY).toBe(5_002);
  });

  it('trusts a package-managed file only while it matches what its package installed', async () => {
    const dir = scratch();
    const path = copyExecutable('/bin/true', join(dir, 'packaged'), `packaged-${Date.now()}`);
    const info = join(dir, 'dpkg-info');
    mkdirSync(info);
    const md5 = execFileSync('md5sum', [path], { encoding: 'utf8' }).split(' ')[0];
    writeFileSync(
      join(info, 'example.md5sums'),
      `${md5}  ${path.slice(1)}\n${'0'.repeat(32)}  usr/share/doc/x\n`,
    );
    const agent = new Agent(config({ TrustPackageManagedBinaries: true }), {
      backend: 'fake',
      dpkgInfoDir: info,
    });
    agent.start();
    cleanups.push(() => agent.stop());
    const decisions: string[] = [];
    agent.monitor.onDecision((decision) => decisions.push(decision.decision));
    const who = { pid: 4242, ppid: 1, uid: 1000, gid: 1000 };
    expect(await agent.monitor.inject(path, who)).toBe(true);
    expect(agent.explain({ sha256: sha256sum(path), md5: md5!, path })).toMatchObject({
      decision: 'ALLOW_PLATFORM',
      reason: 'Package-managed binary',
    });
    appendFileSync(path, 'tampered');
    expect(await agent.monitor.inject(path, who)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(decisions).toEqual(['ALLOW_PLATFORM', 'BLOCK_UNKNOWN']);
  });

  it('names the package a blocked file came from, and takes package trust from a reload', async () => {
    const dir = scratch();
    const [path, intact] = ['packaged', 'intact'].map((name) =>
      copyExecutable('/bin/true', join(dir, name), `owned-${name}-${Date.now()}`),
    ) as [string, string];
    const info = join(dir, 'dpkg-info');
    mkdirSync(info);
    const md5 = (file: string) =>
      execFileSync('md5sum', [file], { encoding: 'utf8' }).split(' ')[0];
    writeFileSync(
      join(info, 'tool:amd64.md5sums'),
      `${md5(path)}  ${path.slice(1)}\n${md5(intact)}  ${intact.slice(1)}\n`,
    );
    const initial = config();
    const agent = new Agent(initial, { backend: 'fake', dpkgInfoDir: info });
    agent.start();
    cleanups.push(() => agent.stop());
    const who = { pid: 4244, ppid: 1, uid: 1000, gid: 1000 };
    // Without package trust the table is read after start-up; the block still names the package.
    await until(() => agent.packageOf(path) === 'tool:amd64', 'the dpkg table');
    expect(await agent.monitor.inject(path, who)).toBe(false);
    await until(() => agent.events.list({ uid: 1000 }).length === 1, 'the block event');
    expect(agent.events.list({ uid: 1000 })[0]).toMatchObject({
      decision: 'BLOCK_UNKNOWN',
      package: 'tool:amd64',
    });
    // Changed contents at the same path are not the package's file, and the event says so.
    appendFileSync(path, 'tampered');
    expect(await agent.monitor.inject(path, who)).toBe(false);
    await until(() => agent.events.list({ uid: 1000 }).length === 2, 'the second block');
    expect(agent.events.list({ uid: 1000 }).map((event) => event.package)).toContain(
      'tool:amd64 (path only: not what the package installed)',
    );
    agent.reload({ ...initial, trustPackageManagedBinaries: true });
    expect(await agent.monitor.inject(intact, who)).toBe(true);
    expect(await agent.monitor.inject(path, who)).toBe(false);
    agent.reload(initial);
    expect(await agent.monitor.inject(intact, who)).toBe(false);
  });

  it('applies scopes and static rules from a reloaded config without a restart', async () => {
    const dir = scratch();
    const agent = new Agent(config(), { backend: 'fake' });
    agent.start();
    cleanups.push(() => agent.stop());
    const path = copyExecutable('/bin/true', join(dir, 'scoped'), `scoped-${Date.now()}`);
    // Path scopes judge only a process in the agent's own mount namespace: a real one.
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    cleanups.push(() => sleeper.kill('SIGKILL'));
    const who = { pid: sleeper.pid!, ppid: 1, uid: 1000, gid: 1000 };
    expect(await agent.monitor.inject(path, who)).toBe(false);
    agent.reload(config({ AllowedPathPrefixes: [dir] }));
    expect(await agent.monitor.inject(path, who)).toBe(true);
    agent.reload(
      config({
        AllowedPathPrefixes: [dir],
        StaticRules: [{ identifier: sha256sum(path), rule_type: 'BINARY', policy: 'BLOCKLIST' }],
      }),
    );
    expect(await agent.monitor.inject(path, who)).toBe(false);
    expect(agent.explain({ sha256: sha256sum(path), path })).toMatchObject({
      decision: 'BLOCK_BINARY',
      reason: 'Binary rule',
    });
  });
});
