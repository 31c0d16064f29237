// The agent when the server stops accepting its token, against the real backend: it enrolls
// again by itself where the server allows it (its own enrollment key), and where it may not (the
// id was handed to another installation) its sync error says that it waits for an
// administrator, until one approves its claim.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SyncScheduler } from '../../../../../main/agent/sync/scheduler';
import { startSyncingAgent } from '../../../../helpers/agent';
import { auditedActions } from '../../../../helpers/audit';
import { useScratchPerTest } from '../../../../helpers/scratch';
import { startTestServer, type TestServer } from '../../../../helpers/server';

const { scratch, cleanups } = useScratchPerTest('agent-enrollment');

async function setUp(machineId: string) {
  const server: TestServer = await startTestServer('sqlite', { enrollmentSecret: 'team-secret' });
  cleanups.push(() => server.close());
  const dir = scratch();
  const running = await startSyncingAgent(dir, server.base, { MachineID: machineId });
  cleanups.push(running.stop);
  const stateDir = join(dir, 'agent');
  return { server, ...running, stateDir };
}

/** The id was handed to another installation: this agent's token and key no longer prove anything. */
async function handToAnotherInstallation(server: TestServer, machineId: string) {
  await server.repos.machines.update(machineId, {
    token_hash: 'f'.repeat(64),
    enroll_key_hash: 'e'.repeat(64),
  });
}

/** The enrollment conflict the agent's sync error names. */
function conflictNamed(scheduler: SyncScheduler): number {
  return Number(/conflict (\d+)/.exec(scheduler.lastError!)![1]);
}

/** Syncs until one completes (at most three tries): what the agent recovers with. */
async function syncs(scheduler: SyncScheduler) {
  for (let attempt = 0; attempt < 3; attempt++) {
    const result = await scheduler.syncNow();
    if (result) return result;
  }
  return undefined;
}

/** The agent syncs again with no error left, and the machine's audit trail is then `actions`. */
async function expectRecovered(
  server: TestServer,
  scheduler: SyncScheduler,
  machineId: string,
  actions: string[],
) {
  expect(await syncs(scheduler)).toBeDefined();
  expect(scheduler.lastError).toBeUndefined();
  expect(await auditedActions(server.db, machineId)).toEqual(actions);
}

describe('agent enrollment', () => {
  it('keeps its enrollment key to itself and re-enrolls with it when its token is refused', async () => {
    const { server, scheduler, stateDir } = await setUp('agent-recovers');
    expect(statSync(join(stateDir, 'enrollment-key')).mode & 0o777).toBe(0o600);
    const first = readFileSync(join(stateDir, 'sync-token'), 'utf8').trim();
    // The token is replaced on the server (as when an admin rebinds and then restores the id).
    await server.repos.machines.update('agent-recovers', { token_hash: 'f'.repeat(64) });

    // The refused sync (this one, or one its push stream started) makes the next enroll again.
    await expectRecovered(server, scheduler, 'agent-recovers', [
      'machine.enroll',
      'machine.reenroll',
    ]);
    expect(readFileSync(join(stateDir, 'sync-token'), 'utf8').trim()).not.toBe(first);
  });

  it('says plainly that it waits for an administrator, and syncs once one approves', async () => {
    const { server, scheduler } = await setUp('agent-waits');
    await handToAnotherInstallation(server, 'agent-waits');
    await scheduler.syncNow();
    expect(await scheduler.syncNow()).toBeUndefined();
    expect(scheduler.lastError).toMatch(
      /^enroll: machine id agent-waits is enrolled already and this installation cannot prove it is the same one; re-enrollment waits for an administrator to approve enrollment conflict \d+ in the console/,
    );
    const id = conflictNamed(scheduler);
    await server.app.enrollment.repo.decide(id, true, 'admin');
    await expectRecovered(server, scheduler, 'agent-waits', [
      'machine.enroll',
      'enroll.conflict',
      'enroll.conflict.approve',
      'machine.reenroll',
    ]);
  });

  it('says so when an administrator refused its claim', async () => {
    const { server, scheduler } = await setUp('agent-refused');
    await handToAnotherInstallation(server, 'agent-refused');
    await scheduler.syncNow();
    await scheduler.syncNow();
    const id = conflictNamed(scheduler);
    await server.app.enrollment.repo.decide(id, false, 'admin');
    expect(await scheduler.syncNow()).toBeUndefined();
    expect(scheduler.lastError).toMatch(
      /^enroll: an administrator refused this machine's claim on machine id agent-refused; it will not sync until one approves a new claim \(delete .*enrollment-key to make one at the next sync\)/,
    );
  });
});
