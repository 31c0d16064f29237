// Gatehouse itself: the exec monitor running for real, and the last sync recent when a sync
// server is configured. The mode is reported as it is; MONITOR is a legitimate rollout stage.
import { fail, pass, unknown, type PostureCheck } from './check';

/** A sync older than this means the machine is not getting rule changes. */
export const SYNC_STALE_MS = 2 * 3600_000;
/** Right after start, no sync yet is expected. */
export const SYNC_GRACE_MS = 10 * 60_000;

const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;

export const gatehouseHealthy: PostureCheck = {
  id: 'gatehouse.healthy',
  title: 'Gatehouse healthy',
  remediation: 'Restart Gatehouse (sudo systemctl restart gatehouse); if it persists, contact IT.',
  async run({ gatehouse, now }) {
    const facts = gatehouse();
    const mode = `mode ${facts.mode}`;
    if (!facts.monitorRunning) return fail(`${mode}; the exec monitor is not running`);
    if (facts.backend === 'fake')
      return fail(`${mode}; the exec monitor runs the fake backend: nothing is enforced`);
    const monitor = `${mode}; exec monitor running (${facts.backend})`;
    if (!facts.syncBaseUrl) return pass(`${monitor}; no sync server configured`);
    const error = facts.lastSyncError ? ` (last attempt: ${facts.lastSyncError})` : '';
    if (facts.lastSync === null) {
      const up = now() - facts.startedAt;
      return up < SYNC_GRACE_MS
        ? unknown(`${monitor}; started ${minutes(up)} ago and not synced yet${error}`)
        : fail(
            `${monitor}; never synced with ${facts.syncBaseUrl} since start ${minutes(up)} ago${error}`,
          );
    }
    const age = now() - facts.lastSync;
    const last = `last sync ${new Date(facts.lastSync).toISOString()} (${minutes(age)} ago)`;
    return age > SYNC_STALE_MS
      ? fail(`${monitor}; ${last}, more than ${minutes(SYNC_STALE_MS)}${error}`)
      : pass(`${monitor}; ${last}`);
  },
};

/** The routes around fanotify's exec events, which only the BPF layer of the gate closes. */
export const UNGATED_ROUTES =
  'the dynamic loader given a path, LD_PRELOAD and dlopen of libraries a user can write, programs started from memory (memfd), from filesystems mounted in user namespaces or from FUSE';

export const execGateCoverage: PostureCheck = {
  id: 'gatehouse.exec-gate-coverage',
  title: 'Exec gate coverage',
  remediation:
    'Run a kernel with BTF and the BPF LSM active (add bpf to the lsm= boot parameter, e.g. lsm=lockdown,capability,landlock,yama,apparmor,bpf), and a Gatehouse built where clang, libbpf-dev and bpftool were installed.',
  async run({ gatehouse }) {
    const facts = gatehouse();
    if (!facts.monitorRunning || facts.gateGaps === null)
      return unknown('the exec monitor is not running');
    if (facts.backend === 'fake')
      return fail('the exec monitor runs the fake backend: nothing is gated');
    if (facts.gateGaps === '')
      return pass(
        `every exec route is gated: fanotify for programs on watched filesystems, the BPF LSM for ${UNGATED_ROUTES}`,
      );
    return fail(`not gated: ${UNGATED_ROUTES}. Why: ${facts.gateGaps}`);
  },
};
