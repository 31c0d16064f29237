// The promise "in LOCKDOWN only approved programs run", attacked as a local unprivileged user
// would: stalling the hash, racing it, and rewriting an allowed file afterwards. Every attack runs
// as nobody against the real fanotify monitor, on a private tmpfs (LOCKDOWN never reaches beyond
// it). Each test fails while its attack works.
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../main/agent/agent';
import { parseConfig } from '../../main/agent/config/config';
import { NOBODY, runAs } from '../helpers/as-user';
import { useGateOnTmpfs } from '../helpers/exec-gate';
import { copyExecutable, sha256sum, tempDir } from '../helpers/files';
import { rootAvailable } from '../helpers/prerequisites';
import { eventually } from '../helpers/wait';

/** Another unprivileged user, whose programs must not suffer from nobody's attacks. */
const OTHER_USER = 65533;
const GIB = 1024 * 1024 * 1024;
const MIB = 1024 * 1024;

/** `copy` of `source`, padded with zeros to `bytes` (an ELF runs with a tail it never maps). */
function paddedCopy(source: string, copy: string, bytes: number, tag: string): string {
  copyExecutable(source, copy, tag);
  truncateSync(copy, bytes);
  return copy;
}

function chownToNobody(...paths: string[]): void {
  for (const path of paths) chownSync(path, NOBODY, NOBODY);
}

// Holds a writable descriptor on TARGET, starts an exec of it, overwrites it with EVIL's bytes
// after DELAY seconds and closes the descriptor: what ran is in the child's exit status.
const RACE_SCRIPT = `
import os, sys, time
target, evil, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
content = open(evil, 'rb').read()
fd = os.open(target, os.O_RDWR)
child = os.fork()
if child == 0:
    os.close(fd)  # an inherited writer would make the kernel refuse the exec (ETXTBSY)
    try:
        os.execv(target, [target])
    except OSError as error:
        os._exit(100 + error.errno)
time.sleep(delay)
os.pwrite(fd, content, 0)
os.close(fd)
_, status = os.waitpid(child, 0)
print(os.waitstatus_to_exitcode(status))
`;

// Rewrites TARGET with EVIL's bytes (same size) through a shared writable mapping: no write(),
// so no modify event.
const MMAP_SCRIPT = `
import mmap, os, sys
target, evil = sys.argv[1], sys.argv[2]
content = open(evil, 'rb').read()
fd = os.open(target, os.O_RDWR)
view = mmap.mmap(fd, len(content), mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
os.close(fd)
view[:] = content
view.flush()
view.close()
`;

describe.runIf(rootAvailable('the exec-gate attack tests'))(
  'the exec gate under attack by a local user (root, LOCKDOWN on a private tmpfs)',
  () => {
    const gate = useGateOnTmpfs('attacks', '1g');
    const { start, nobodysCopy } = gate;
    const attackers: ChildProcess[] = [];

    beforeAll(() => {
      writeFileSync(join(gate.home, 'race.py'), RACE_SCRIPT);
      writeFileSync(join(gate.home, 'rewrite_mmap.py'), MMAP_SCRIPT);
    });
    afterEach(() => {
      for (const child of attackers.splice(0)) child.kill('SIGKILL');
    });

    function allow(path: string): void {
      gate.monitor!.applyRuleChanges([
        { type: 'BINARY', identifier: sha256sum(path), policy: 'ALLOWLIST' },
      ]);
    }

    /** nobody starts execs of `count` sparse files of 20 to 40 GiB, and leaves them waiting. */
    function stallWith(count: number): string[] {
      const files = Array.from({ length: count }, (_, i) => {
        const path = nobodysCopy('/bin/true');
        truncateSync(path, 20 * GIB + i * Math.floor((20 * GIB) / Math.max(1, count - 1)));
        return path;
      });
      const script = files.map((_, i) => `"$${i + 1}" &`).join(' ') + ' wait';
      const child = spawn(
        'setpriv',
        [
          `--reuid=${NOBODY}`,
          `--regid=${NOBODY}`,
          '--clear-groups',
          'sh',
          '-c',
          script,
          'sh',
          ...files,
        ],
        { stdio: 'ignore' },
      );
      attackers.push(child);
      return files;
    }

    describe('1. stalling the hash', () => {
      it('a 20 GiB sparse file is refused at once, with its reason, and not hashed', async () => {
        const { decisions } = start();
        const big = nobodysCopy('/bin/true');
        truncateSync(big, 20 * GIB);
        const result = runAs(NOBODY, [big]);
        expect(result.refused).toBe(true);
        const decision = await eventually(
          () => decisions.find((d) => d.path === big),
          'the decision',
        );
        expect(decision).toMatchObject({ decision: 'BLOCK_UNKNOWN', reason: 'too-large' });
        expect(gate.monitor!.metrics()).toMatchObject({ tooLargeAnswers: 1, deadlineAnswers: 0 });
      });

      it('the deadline blocks in LOCKDOWN by default, and the exec is recorded with its reason', async () => {
        // Hashing is allowed to outlast the deadline here: 4 GiB with a 100 ms deadline.
        const { decisions } = start({ deadlineMs: 100, maxHashMiB: 65536 });
        const slow = nobodysCopy('/bin/true');
        truncateSync(slow, 4 * GIB);
        expect(runAs(NOBODY, [slow]).refused).toBe(true);
        expect(gate.monitor!.metrics().deadlineAnswers).toBe(1);
        // The hashing goes on; the exec is recorded when it is done, with the hash.
        const decision = await eventually(
          () => decisions.find((d) => d.path === slow),
          'the decision',
          60_000,
        );
        expect(decision).toMatchObject({
          decision: 'BLOCK_UNKNOWN',
          answeredBy: 'watchdog',
          reason: 'deadline',
        });
        expect(decision.sha256).toMatch(/^[0-9a-f]{64}$/);
      }, 90_000);

      for (const count of [2, 4, 8]) {
        for (const hashed of [false, true]) {
          it(`${count} sparse files of 20-40 GiB from nobody${hashed ? ', hashed (no size bound)' : ''}: another user's unknown binary is refused by policy, an approved one runs`, async () => {
            const { decisions } = start({
              deadlineMs: 3000,
              ...(hashed ? { maxHashMiB: 65536 } : {}),
            });
            const approved = paddedCopy(
              '/bin/true',
              join(gate.dir, `approved-${count}-${hashed}`),
              MIB,
              `approved-${count}-${hashed}`,
            );
            allow(approved);
            const unknown = copyExecutable(
              '/bin/true',
              join(gate.dir, `unknown-${count}-${hashed}`),
              `u-${count}-${hashed}-${Date.now()}`,
            );
            stallWith(count);
            // Every stalling exec has reached the monitor before the victims come.
            await eventually(
              () => (gate.monitor!.metrics().events >= count ? true : undefined),
              'the decision',
            );
            await new Promise((resolve) => setTimeout(resolve, 200));
            const blocked = runAs(OTHER_USER, [unknown]);
            expect(blocked.refused).toBe(true);
            const ran = runAs(OTHER_USER, [approved]);
            expect(ran).toMatchObject({ status: 0 });
            const unknownDecision = await eventually(
              () => decisions.find((d) => d.path === unknown),
              'the decision',
            );
            expect(unknownDecision).toMatchObject({
              decision: 'BLOCK_UNKNOWN',
              answeredBy: 'policy',
            });
            expect(unknownDecision.reason).toBeUndefined();
            const approvedDecision = await eventually(
              () => decisions.find((d) => d.path === approved),
              'the decision',
            );
            expect(approvedDecision).toMatchObject({ decision: 'ALLOW_BINARY' });
            console.log(
              `stall x${count}${hashed ? ' (hashed)' : ''}: approved 1 MiB binary ran in ${ran.ms.toFixed(1)} ms (decision ${(approvedDecision.latencyUs / 1000).toFixed(2)} ms); unknown refused in ${(unknownDecision.latencyUs / 1000).toFixed(2)} ms`,
            );
          }, 60_000);
        }
      }
    });

    it('the agent keeps every such answer as an event with its reason, hashed or not', async () => {
      const state = tempDir('attack-agent');
      const { config } = parseConfig(
        JSON.stringify({
          ClientMode: 'LOCKDOWN',
          StateDir: state.dir,
          WatchPaths: [gate.dir],
          SocketPath: join(state.dir, 'sock'),
          DeadlineMs: 100,
        }),
        '(test)',
        () => 'm',
      );
      const agent = new Agent(config);
      agent.start();
      try {
        const big = nobodysCopy('/bin/true');
        truncateSync(big, 20 * GIB);
        expect(runAs(NOBODY, [big]).refused).toBe(true);
        const event = await eventually(
          () =>
            agent.events.list({ uid: NOBODY }).find((e) => `${e.filePath}/${e.fileName}` === big),
          'the decision',
        );
        expect(event).toMatchObject({
          decision: 'BLOCK_UNKNOWN',
          reason: 'too-large',
          fileSha256: '',
        });
        // Never sent to a Santa server, whose events all carry a hash.
        expect(agent.events.pendingUpload().map((e) => e.id)).not.toContain(event.id);
      } finally {
        agent.stop();
        state.remove();
      }
    });

    describe('2. racing the hash', () => {
      it('overwriting an allowed copy while it is being decided never runs the new content (50 runs)', async () => {
        const { decisions } = start();
        const size = 20 * MIB;
        const evil = paddedCopy('/bin/false', join(gate.home, 'evil'), size, 'evil');
        chownToNobody(evil);
        let evilRuns = 0;
        let refused = 0;
        const statuses = new Map<string, number>();
        const delays = [0, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02];
        for (let i = 0; i < 50; i++) {
          const target = nobodysCopy('/bin/true', size);
          allow(target);
          const result = runAs(NOBODY, [
            '/usr/bin/python3',
            join(gate.home, 'race.py'),
            target,
            evil,
            String(delays[i % delays.length]),
          ]);
          rmSync(target);
          const status = Number(result.output.trim().split('\n')[0]);
          const outcome = result.output.trim().slice(-80);
          statuses.set(outcome, (statuses.get(outcome) ?? 0) + 1);
          if (status === 1) evilRuns++; // /bin/false's content ran
          if (status === 101) refused++; // 100 + EPERM
        }
        expect(evilRuns).toBe(0);
        expect(refused).toBeGreaterThan(0);
        await eventually(() => (decisions.length >= 50 ? true : undefined), 'the decision');
        const reasons = new Set(decisions.map((d) => d.reason));
        console.log(
          `race outcomes: ${JSON.stringify([...statuses])}, reasons: ${JSON.stringify([...reasons])}`,
        );
        expect(reasons.has('open-for-writing') || reasons.has('written-while-deciding')).toBe(true);
        console.log(`race: ${refused}/50 refused, ${evilRuns} ran the new content`);
      }, 120_000);
    });

    describe('3. rewriting after the allow', () => {
      const rewrites = {
        'a shared writable mapping': (target: string, evil: string) =>
          ['/usr/bin/python3', join(gate.home, 'rewrite_mmap.py'), target, evil] as const,
        'write (cp over it)': (target: string, evil: string) => ['/bin/cp', evil, target] as const,
        'truncate and write': (target: string, evil: string) =>
          ['/bin/sh', '-c', ': > "$1" && cat "$2" > "$1"', 'sh', target, evil] as const,
        'rename over it': (target: string, evil: string) =>
          ['/bin/sh', '-c', 'cp "$2" "$1.new" && mv -f "$1.new" "$1"', 'sh', target, evil] as const,
        'a hard link, written through': (target: string, evil: string) =>
          [
            '/bin/sh',
            '-c',
            'ln "$1" "$1.link" && cat "$2" > "$1.link"',
            'sh',
            target,
            evil,
          ] as const,
      };
      for (const [how, command] of Object.entries(rewrites)) {
        it(`an allowed file rewritten through ${how} is refused on the next exec`, async () => {
          const { decisions } = start();
          const size = 2 * MIB;
          const target = nobodysCopy('/bin/true', size);
          const evil = nobodysCopy('/bin/false', size);
          allow(target);
          expect(runAs(NOBODY, [target])).toMatchObject({ status: 0 });
          expect(runAs(NOBODY, [target])).toMatchObject({ status: 0 }); // warm: kernel-cached
          const rewrite = runAs(NOBODY, command(target, evil));
          expect(rewrite.status, rewrite.output).toBe(0);
          expect(sha256sum(target)).toBe(sha256sum(evil));
          expect(runAs(NOBODY, [target]).refused).toBe(true);
          const last = await eventually(
            () => decisions.findLast((d) => d.path === target && d.decision === 'BLOCK_UNKNOWN'),
            'the decision',
          );
          expect(last.sha256).toBe(sha256sum(evil));
        });
      }

      it('MONITOR records the rewritten file as unknown, with its new hash', async () => {
        const { decisions } = start({ mode: 'MONITOR' });
        const size = 2 * MIB;
        const target = nobodysCopy('/bin/true', size);
        const evil = nobodysCopy('/bin/false', size);
        allow(target);
        expect(runAs(NOBODY, [target])).toMatchObject({ status: 0 });
        const rewrite = runAs(NOBODY, [
          '/usr/bin/python3',
          join(gate.home, 'rewrite_mmap.py'),
          target,
          evil,
        ]);
        expect(rewrite.status, rewrite.output).toBe(0);
        expect(runAs(NOBODY, [target]).status).toBe(1);
        const unknown = await eventually(
          () => decisions.find((d) => d.path === target && d.decision === 'ALLOW_UNKNOWN'),
          'the decision',
        );
        expect(unknown.sha256).toBe(sha256sum(evil));
      });

      it("root's own files are kernel-cached without a guard; a user's approved file is guarded while cached", async () => {
        start();
        const rootOwned = copyExecutable(
          '/bin/true',
          join(gate.dir, 'root-owned'),
          `r-${Date.now()}`,
        );
        const usersOwn = nobodysCopy('/bin/true');
        allow(rootOwned);
        allow(usersOwn);
        expect(runAs(NOBODY, [rootOwned]).status).toBe(0);
        expect(runAs(NOBODY, [usersOwn]).status).toBe(0);
        expect(gate.monitor!.metrics().guardedFiles).toBe(1);
        // A rule change forgets every allow, and so every guard.
        gate.monitor!.flushCache();
        expect(gate.monitor!.metrics().guardedFiles).toBe(0);
      });
    });
  },
);
