// The native authorizer driven by scripted execs: everything but the kernel, without root.
import { createHash } from 'node:crypto';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ExecMonitor,
  POLICY_CODES,
  type ExecDecision,
  type ExecMonitorOptions,
} from '../../../native/index';
import { copyExecutable, sha256sum, sparseExecutable, tempDir } from '../../helpers/files';
import { until } from '../../helpers/wait';

const OTHER_PROCESS = { pid: 999_999, ppid: 1, uid: 1000, gid: 1000 };

let monitor: ExecMonitor | undefined;
const scratch: { remove(): void }[] = [];
afterEach(() => {
  monitor?.stop();
  monitor = undefined;
  for (const dir of scratch.splice(0)) dir.remove();
});

function start(options: Omit<ExecMonitorOptions, 'backend'>) {
  const decisions: ExecDecision[] = [];
  monitor = new ExecMonitor();
  monitor.onDecision((decision) => decisions.push(decision));
  monitor.start({ backend: 'fake', ...options });
  return { monitor, decisions };
}

function binary(tag: string): string {
  const dir = tempDir('fake');
  scratch.push(dir);
  return copyExecutable('/bin/true', join(dir.dir, tag), tag);
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe('ExecMonitor on the fake backend', () => {
  it('allows an unknown binary in MONITOR and reports ALLOW_UNKNOWN with its SHA-256', async () => {
    const { monitor, decisions } = start({ mode: 'MONITOR' });
    const path = binary('monitor-unknown');
    expect(await monitor.inject(path, OTHER_PROCESS)).toBe(true);
    await settle();
    expect(decisions).toHaveLength(1);
    expect(decisions[0]).toMatchObject({
      decision: 'ALLOW_UNKNOWN',
      path,
      sha256: sha256sum(path),
      pid: OTHER_PROCESS.pid,
      ppid: 1,
      uid: 1000,
      answeredBy: 'policy',
      rule: null,
    });
  });

  it('blocks an unknown binary in LOCKDOWN and allows it with an ALLOWLIST rule', async () => {
    const { monitor, decisions } = start({ mode: 'LOCKDOWN' });
    const path = binary('lockdown');
    expect(await monitor.inject(path, OTHER_PROCESS)).toBe(false);
    monitor.applyRuleChanges([
      { type: 'BINARY', identifier: sha256sum(path), policy: 'ALLOWLIST' },
    ]);
    expect(await monitor.inject(path, OTHER_PROCESS)).toBe(true);
    await settle();
    expect(decisions.map((d) => d.decision)).toEqual(['BLOCK_UNKNOWN', 'ALLOW_BINARY']);
    expect(decisions[1]!.rule).toEqual({
      type: 'BINARY',
      identifier: sha256sum(path),
      policy: 'ALLOWLIST',
    });
  });

  it('blocks a BLOCKLIST binary in MONITOR too', async () => {
    const path = binary('blocklisted');
    const { monitor, decisions } = start({ mode: 'MONITOR' });
    monitor.setRules([
      { type: 'BINARY', identifier: sha256sum(path).toUpperCase(), policy: 'BLOCKLIST' },
    ]);
    expect(await monitor.inject(path, OTHER_PROCESS)).toBe(false);
    await settle();
    expect(decisions[0]?.decision).toBe('BLOCK_BINARY');
  });

  it('stops being asked after an allow, until the file is rewritten', async () => {
    const { monitor } = start({ mode: 'LOCKDOWN' });
    const path = binary('rewritten');
    monitor.setRules([{ type: 'BINARY', identifier: sha256sum(path), policy: 'ALLOWLIST' }]);
    expect(await monitor.inject(path, OTHER_PROCESS)).toBe(true);
    expect(await monitor.inject(path, OTHER_PROCESS)).toBe(true);
    expect(monitor.metrics()).toMatchObject({ events: 1, kernelSkips: 1, ignoreMarks: 1 });
    appendFileSync(path, 'changed');
    expect(await monitor.inject(path, OTHER_PROCESS)).toBe(false);
    expect(monitor.metrics()).toMatchObject({ events: 2, filesHashed: 2 });
  });

  it('remembers a block for denyCacheMs, then looks again', async () => {
    // A window wide enough that a loaded machine still makes the second exec inside it.
    const { monitor, decisions } = start({ mode: 'LOCKDOWN', denyCacheMs: 1_000 });
    const path = binary('deny-cache');
    expect(await monitor.inject(path, OTHER_PROCESS)).toBe(false);
    // A decision is reported on another thread than the exec's answer, so on a busy machine the
    // cache's answer to the next exec can be reported first: wait for this one before it.
    await until(() => decisions.length === 1, 'the first decision to be reported');
    expect(await monitor.inject(path, OTHER_PROCESS)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(await monitor.inject(path, OTHER_PROCESS)).toBe(false);
    await settle();
    expect(decisions.map((d) => d.answeredBy)).toEqual(['policy', 'cache', 'policy']);
    expect(monitor.metrics()).toMatchObject({ filesHashed: 2, cacheHits: 1 });
  });

  it('flushes every cache when the rules or the mode change', async () => {
    const { monitor } = start({ mode: 'MONITOR' });
    const path = binary('mode-change');
    expect(await monitor.inject(path, OTHER_PROCESS)).toBe(true);
    monitor.setMode('LOCKDOWN');
    expect(await monitor.inject(path, OTHER_PROCESS)).toBe(false);
    expect(monitor.metrics().cacheFlushes).toBeGreaterThanOrEqual(1);
  });

  it("allows the monitor's own process at once and tells nobody", async () => {
    const { monitor, decisions } = start({ mode: 'LOCKDOWN' });
    expect(await monitor.inject(binary('self'), { pid: process.pid })).toBe(true);
    await settle();
    expect(decisions).toEqual([]);
    expect(monitor.metrics()).toMatchObject({ events: 1, selfAllowed: 1, filesHashed: 0 });
  });

  it('hashes a file once when many execs of it arrive together', async () => {
    const dir = tempDir('coalesce');
    scratch.push(dir);
    const path = sparseExecutable('/bin/true', join(dir.dir, 'big'), 256 * 1024 * 1024);
    const { monitor } = start({ mode: 'MONITOR' });
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => monitor.inject(path, OTHER_PROCESS)),
    );
    expect(answers.every(Boolean)).toBe(true);
    const metrics = monitor.metrics();
    expect(metrics.filesHashed).toBe(1);
    expect(metrics.coalesced + metrics.kernelSkips + metrics.cacheHits).toBe(19);
    expect(metrics.coalesced).toBeGreaterThan(0);
  });

  it('answers with the fail mode at the deadline when hashing is slow', async () => {
    const dir = tempDir('deadline');
    scratch.push(dir);
    const path = sparseExecutable('/bin/true', join(dir.dir, 'huge'), 1024 * 1024 * 1024);
    const { monitor, decisions } = start({ mode: 'LOCKDOWN', failClosed: true, deadlineMs: 100 });
    expect(await monitor.inject(path, OTHER_PROCESS)).toBe(false);
    expect(monitor.metrics()).toMatchObject({ deadlineAnswers: 1, filesHashed: 0 });
    monitor.stop(); // waits for the hash to finish; the decision is then delivered
    await settle();
    expect(decisions[0]).toMatchObject({ answeredBy: 'watchdog', decision: 'BLOCK_UNKNOWN' });
  });

  it('fails open at the deadline when FailClosed is turned off', async () => {
    const dir = tempDir('deadline-open');
    scratch.push(dir);
    const path = sparseExecutable('/bin/true', join(dir.dir, 'huge'), 1024 * 1024 * 1024);
    const { monitor } = start({ mode: 'LOCKDOWN', failClosed: false, deadlineMs: 100 });
    expect(await monitor.inject(path, OTHER_PROCESS)).toBe(true);
    expect(monitor.metrics().deadlineAnswers).toBe(1);
  });

  it('releases pending execs as allowed when stopped', async () => {
    const dir = tempDir('release');
    scratch.push(dir);
    const path = sparseExecutable('/bin/true', join(dir.dir, 'huge'), 1024 * 1024 * 1024);
    const { monitor } = start({ mode: 'LOCKDOWN', failClosed: true, deadlineMs: 600_000 });
    const answer = monitor.inject(path, OTHER_PROCESS);
    monitor.stop();
    expect(await answer).toBe(true);
  });

  it('counts notifications it cannot queue as dropped, and never blocks', async () => {
    const { monitor, decisions } = start({ mode: 'LOCKDOWN', notifyQueueSize: 2 });
    const path = binary('dropped');
    expect(await monitor.inject(path, OTHER_PROCESS)).toBe(false);
    // The JavaScript thread is ours until the loop ends: nothing drains the queue meanwhile.
    const answers = Array.from({ length: 50 }, () => monitor.inject(path, OTHER_PROCESS));
    expect(await Promise.all(answers)).toEqual(Array(50).fill(false));
    await settle();
    const metrics = monitor.metrics();
    expect(metrics.droppedNotifications).toBeGreaterThan(40);
    expect(metrics.notified + metrics.droppedNotifications).toBe(metrics.events);
    expect(decisions.length).toBe(metrics.notified);
  });

  it('keeps its counters consistent', async () => {
    const { monitor } = start({ mode: 'LOCKDOWN' });
    const paths = ['a', 'b', 'c'].map(binary);
    monitor.setRules([{ type: 'BINARY', identifier: sha256sum(paths[0]!), policy: 'ALLOWLIST' }]);
    for (let i = 0; i < 30; i++) await monitor.inject(paths[i % 3]!, OTHER_PROCESS);
    const m = monitor.metrics();
    expect(m.cacheHits + m.cacheMisses + m.selfAllowed).toBe(m.events);
    expect(m.allowed + m.blocked).toBe(m.events - m.selfAllowed);
    expect(m.latencyHistogram.reduce((sum, bucket) => sum + bucket.count, 0)).toBe(
      m.allowed + m.blocked,
    );
    expect(m.pendingAnswers).toBe(0);
    expect(m.kernelSkips).toBe(9);
  });

  it('keeps a bulk table exact through growth, removals and re-adds', async () => {
    const { monitor } = start({ mode: 'LOCKDOWN' });
    const allowed = binary('bulk-allowed');
    const removed = binary('bulk-removed');
    const readded = binary('bulk-readded');
    const noise = (n: number) => createHash('sha256').update(`noise ${n}`).digest('hex');
    // 200,000 rules in chunks: the table grows many times while holding the three real digests.
    const digests = [sha256sum(allowed), sha256sum(removed), sha256sum(readded)];
    for (let chunk = 0; chunk < 4; chunk++) {
      const hex = Array.from({ length: 50_000 }, (_, i) =>
        chunk === 0 && i < 3 ? digests[i]! : noise(chunk * 50_000 + i),
      );
      monitor.addBinaryRules([
        { digests: Buffer.from(hex.join(''), 'hex'), policies: new Uint8Array(50_000) },
      ]);
    }
    expect(monitor.metrics().rules).toBe(200_000);
    const remove = (ids: string[]) =>
      monitor.applyRuleChanges(
        ids.map((identifier) => ({ type: 'BINARY', identifier, policy: 'REMOVE' as const })),
      );
    // Removals leave tombstones on the probe paths of the digests that stay.
    remove([digests[1]!, digests[2]!, ...Array.from({ length: 20_000 }, (_, i) => noise(i + 3))]);
    expect(monitor.metrics().rules).toBe(200_000 - 20_002);
    expect(await monitor.inject(allowed, OTHER_PROCESS)).toBe(true);
    expect(await monitor.inject(removed, OTHER_PROCESS)).toBe(false);
    expect(await monitor.inject(readded, OTHER_PROCESS)).toBe(false);
    monitor.addBinaryRules([
      { digests: Buffer.from(digests[2]!, 'hex'), policies: Uint8Array.of(POLICY_CODES.ALLOWLIST) },
    ]);
    expect(await monitor.inject(readded, OTHER_PROCESS)).toBe(true);
    monitor.addBinaryRules([
      { digests: Buffer.from(digests[0]!, 'hex'), policies: Uint8Array.of(POLICY_CODES.BLOCKLIST) },
    ]);
    expect(await monitor.inject(allowed, OTHER_PROCESS)).toBe(false);
    expect(monitor.metrics().rules).toBe(200_000 - 20_001);
  });

  it('rejects a malformed rule with its index and what was wrong', () => {
    const { monitor } = start({ mode: 'MONITOR' });
    expect(() =>
      monitor.setRules([
        { type: 'BINARY', identifier: 'a'.repeat(64), policy: 'ALLOWLIST' },
        { type: 'BINARY', identifier: 'xyz', policy: 'ALLOWLIST' },
      ]),
    ).toThrow('rule 1: BINARY rules need a SHA-256 of 64 hex digits, got "xyz"');
    expect(() =>
      monitor.applyRuleChanges([
        { type: 'TEAMID', identifier: 'EQHXZ8M8AV', policy: 'ALLOW' as never },
      ]),
    ).toThrow(/rule 0: rule policy must be ALLOWLIST/);
  });

  it('keeps rules of all five types, in precedence order', () => {
    const { monitor } = start({ mode: 'MONITOR' });
    monitor.setRules([
      { type: 'CDHASH', identifier: 'a'.repeat(40), policy: 'ALLOWLIST' },
      { type: 'BINARY', identifier: 'b'.repeat(64), policy: 'BLOCKLIST' },
      { type: 'SIGNINGID', identifier: 'EQHXZ8M8AV:com.example.app', policy: 'ALLOWLIST_COMPILER' },
      { type: 'CERTIFICATE', identifier: 'c'.repeat(64), policy: 'SILENT_BLOCKLIST' },
      { type: 'TEAMID', identifier: 'EQHXZ8M8AV', policy: 'ALLOWLIST' },
    ]);
    expect(monitor.metrics().rules).toBe(5);
    monitor.applyRuleChanges([{ type: 'TEAMID', identifier: 'EQHXZ8M8AV', policy: 'REMOVE' }]);
    expect(monitor.metrics().rules).toBe(4);
  });

  it('says what is wrong with a missing file', async () => {
    const { monitor } = start({ mode: 'MONITOR' });
    await expect(monitor.inject('/nonexistent/binary', OTHER_PROCESS)).rejects.toThrow(
      'inject: cannot exec /nonexistent/binary: No such file or directory',
    );
  });
});

describe('a malformed decision source', () => {
  it('an unreadable file is answered with the fail mode and reported', async () => {
    const dir = tempDir('unreadable');
    scratch.push(dir);
    const path = join(dir.dir, 'dir-as-binary');
    writeFileSync(path, '');
    const { monitor, decisions } = start({ mode: 'LOCKDOWN' });
    // An empty file hashes fine: its decision comes from policy, with the empty-input digest.
    expect(await monitor.inject(path, OTHER_PROCESS)).toBe(false);
    await settle();
    expect(decisions[0]?.sha256).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });
});
