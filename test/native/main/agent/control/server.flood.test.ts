// Exhausting the agent through its control socket (issue 13, attack 4), as a local user would:
// tens of thousands of connections and a client that never reads its replies, from nobody,
// against the service as systemd runs it (its own process, the real fanotify monitor in LOCKDOWN
// on a private tmpfs). Root must still reach the service, execs must still be decided, and what
// the attack costs the service must stay bounded.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ControlClient } from '../../../../../main/agent/control/client';
import type { ServiceStatus } from '../../../../../main/agent/control/server';
import { copyExecutable, run, sha256sum } from '../../../../helpers/files';
import { rootAvailable } from '../../../../helpers/prerequisites';
import {
  jsonLines,
  openDescriptors,
  residentBytes,
  spawnAsNobody,
  startLockdownService,
  startServiceProcess,
} from '../../../../helpers/service-process';
import { useStarted } from '../../../../helpers/scratch';
import { until } from '../../../../helpers/wait';

const root = join(import.meta.dirname, '../../../../..');
const ctlScript = join(root, 'main/cli/gatehousectl.ts');
const flood = join(import.meta.dirname, '../../../fixtures/control-flood.mjs');
const rpcClient = join(import.meta.dirname, '../../../fixtures/rpc-client.mjs');
const MB = 1024 * 1024;

interface FloodState {
  started: number;
  open: number;
  refused: number;
  closedByService: number;
  backlogFull: number;
  errors: Record<string, number>;
  refusal?: string;
  done: boolean;
}
interface UnreadState {
  written: number;
  stalled: boolean;
  closedByService: boolean;
}

describe.runIf(rootAvailable('the control-socket flood test'))(
  'the control socket under a flood from an unprivileged user (root)',
  () => {
    let allowed: string;
    let unknown: string;
    const attackers: ChildProcess[] = [];
    let cleanupSampler = () => undefined as void;

    const lockdown = useStarted(() =>
      startLockdownService(
        'flood',
        (watchDir) => {
          // Never run before the flood: no kernel ignore mark lets it through without a decision.
          const fresh = (name: string) =>
            copyExecutable('/bin/true', join(watchDir, name), `flood-${name}-${Date.now()}`);
          allowed = fresh('allowed');
          unknown = fresh('unknown');
          const rule = { identifier: sha256sum(allowed), rule_type: 'BINARY', policy: 'ALLOWLIST' };
          return { MachineID: 'flood-test', StaticRules: [rule] };
        },
        startServiceProcess,
      ),
    );
    // Runs before the service stops (after-hooks run last-registered first).
    afterAll(() => {
      cleanupSampler();
      for (const attacker of attackers) attacker.kill('SIGKILL');
    });

    async function rootStatus(): Promise<ServiceStatus> {
      const client = await ControlClient.connect(lockdown.socketPath);
      try {
        return await client.call<ServiceStatus>('status');
      } finally {
        client.close();
      }
    }

    /** gatehousectl as root, as its own process. */
    function ctl(...args: string[]): Promise<{ code: number | null; stdout: string }> {
      const child = spawn(process.execPath, ['--import', 'tsx', ctlScript, ...args], {
        env: { ...process.env, GATEHOUSE_SOCKET: lockdown.socketPath },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let stdout = '';
      child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
      return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout })));
    }

    /** One more nobody client: the first reply to its status call (tried again while the
     * kernel's queue of connections waiting to be accepted is full). */
    async function nobodyStatus(): Promise<string> {
      for (let attempt = 0; attempt < 50; attempt++) {
        const child = spawnAsNobody(process.execPath, [rpcClient, lockdown.socketPath, '1']);
        let stdout = '';
        child.stdout!.on('data', (data: Buffer) => (stdout += data.toString()));
        child.stdin!.end(JSON.stringify(['{"jsonrpc":"2.0","id":1,"method":"status"}']));
        await new Promise((resolve) => child.on('exit', resolve));
        if (stdout.trim()) return stdout.split('\n')[0]!;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error('a nobody client never got an answer from the service');
    }

    it('keeps root served, execs decided and its memory and descriptors bounded', async () => {
      // Settled first: the posture checks that run at start are done.
      const deadline = Date.now() + 60_000;
      while ((await rootStatus()).posture.length === 0 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 200));
      const rssBefore = residentBytes(lockdown.service.pid);
      const fdsBefore = openDescriptors(lockdown.service.pid);
      // Garbage from the flood comes and goes with the collector: the peak is reported too.
      let rssPeak = rssBefore;
      const sampler = setInterval(() => {
        rssPeak = Math.max(rssPeak, residentBytes(lockdown.service.pid));
      }, 100);
      cleanupSampler = () => clearInterval(sampler);

      // A client that sends 8 MB of status requests and never reads a reply...
      const unread = spawnAsNobody(process.execPath, [
        flood,
        'unread',
        lockdown.socketPath,
        String(8 * MB),
      ]);
      attackers.push(unread);
      const unreadState = jsonLines<UnreadState>(unread);
      await until(
        () => {
          const s = unreadState.last();
          return s !== undefined && (s.stalled || s.closedByService || s.written >= 8 * MB);
        },
        'the unread client to stall or finish',
        60_000,
      );
      // ...and 51,000 connection attempts from three processes, each keeping whatever the
      // service keeps open (17,000 at once each: together more than the service's own limit).
      const floods = [0, 1, 2].map(() =>
        spawnAsNobody(process.execPath, [
          flood,
          'connections',
          lockdown.socketPath,
          '17000',
          '17000',
        ]),
      );
      attackers.push(...floods);
      const floodStates = floods.map((child) => jsonLines<FloodState>(child));
      await until(
        () => floodStates.every((s) => (s.last()?.started ?? 0) >= 10_000),
        'the flood to be under way',
        120_000,
      );

      // While it goes on: root reaches the service, through gatehousectl and a client of its own.
      const status = await ctl('status', '--json');
      expect(status.code).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({ mode: 'LOCKDOWN', monitorRunning: true });
      expect((await rootStatus()).monitorRunning).toBe(true);
      // Another nobody client is refused, and told why.
      const refusal = JSON.parse(await nobodyStatus()) as {
        error?: { code: number; message: string };
      };
      expect(refusal.error?.message).toMatch(
        /^too many connections: uid 65534 has 16 open to the Gatehouse service, the limit for one user/,
      );
      // The exec gate still decides: the allowed binary runs, the unknown one is refused.
      expect(run(allowed)).toEqual({ status: 0 });
      expect(run(unknown).error).toBe('EPERM');

      await until(
        () => floodStates.every((s) => s.last()?.done === true),
        'the flood to finish',
        300_000,
      );
      cleanupSampler();
      const rssAfter = residentBytes(lockdown.service.pid);
      const fdsAfter = openDescriptors(lockdown.service.pid);
      const after = await rootStatus();
      const totals = floodStates.map((s) => s.last()!);
      const attempts = totals.reduce((sum, s) => sum + s.started, 0);
      const figures = {
        attempts,
        refusedWithMessage: totals.reduce((sum, s) => sum + s.refused, 0),
        heldOpenByNobody: totals.reduce((sum, s) => sum + s.open, 0),
        backlogFullRetries: totals.reduce((sum, s) => sum + s.backlogFull, 0),
        connectErrors: totals.map((s) => s.errors),
        unreadClient: unreadState.last(),
        rssBeforeMB: +(rssBefore / MB).toFixed(1),
        rssAfterMB: +(rssAfter / MB).toFixed(1),
        rssPeakMB: +(rssPeak / MB).toFixed(1),
        fdsBefore,
        fdsAfter,
        controlSocket: after.controlSocket,
      };
      console.log(`control-socket flood: ${JSON.stringify(figures, null, 2)}`);
      expect(attempts).toBe(51_000);
      expect(rssAfter - rssBefore).toBeLessThan(100 * MB);
      // The connections the service keeps are capped far below its descriptor limit.
      expect(fdsAfter - fdsBefore).toBeLessThan(64);
      expect(after.controlSocket.connections.others).toBeLessThanOrEqual(16);
      expect(after.controlSocket.refused.perUser).toBeGreaterThan(50_000);
      expect(totals[0]!.refusal).toMatch(/^\{"jsonrpc":"2.0","id":null,"error":\{"code":-32003/);
      // The client that never reads was stopped being read from, not fed.
      expect(unreadState.last()).toMatchObject({ stalled: true });
      expect(unreadState.last()!.written).toBeLessThan(2 * MB);
      expect(run(unknown).error).toBe('EPERM');
      expect(run(allowed)).toEqual({ status: 0 });
    }, 600_000);
  },
);
