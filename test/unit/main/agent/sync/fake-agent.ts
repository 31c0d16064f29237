// Just the parts of an Agent that the sync stages touch, recording what they were asked to do.
import type { RuleNotice } from '../../../../../common/control';
import type { Agent } from '../../../../../main/agent/agent';
import type { StoredEvent } from '../../../../../main/agent/store/events';
import type { StoredRequest } from '../../../../../main/agent/store/requests';
import type { StoreChange } from '../../../../../main/agent/store/rules';
import type { SyncTransport } from '../../../../../main/agent/sync/transport';
import type { StageContext } from '../../../../../main/agent/sync/stages/stage';

export interface FakeAgent {
  readonly agent: Agent;
  readonly applied: { how: 'apply' | 'replace'; changes: readonly StoreChange[] }[];
  readonly events: StoredEvent[];
  readonly uploaded: number[];
  readonly requests: StoredRequest[];
  /** Santa's "can now be run" notices the rule download passed on. */
  readonly notices: RuleNotice[];
  posture: unknown[];
}

export function fakeAgent(): FakeAgent {
  const fake: FakeAgent = {
    agent: undefined as unknown as Agent,
    applied: [],
    events: [],
    uploaded: [],
    requests: [],
    notices: [],
    posture: [],
  };
  const agent = {
    config: { machineId: 'serial-1', machineOwner: 'ada' },
    mode: 'MONITOR',
    get posture() {
      return fake.posture;
    },
    rules: {
      syncedCounts: () => ({
        binary: 2,
        certificate: 0,
        compiler: 0,
        teamid: 1,
        signingid: 0,
        cdhash: 0,
      }),
      rulesHash: () => 'hash',
      apply: (changes: StoreChange[]) => fake.applied.push({ how: 'apply', changes }),
      replace: (changes: StoreChange[]) => fake.applied.push({ how: 'replace', changes }),
    },
    events: {
      pendingUpload: (limit: number) =>
        fake.events.filter((e) => !fake.uploaded.includes(e.id)).slice(0, limit),
      markUploaded: (ids: number[]) => fake.uploaded.push(...ids),
      get: (id: number) => fake.events.find((e) => e.id === id),
    },
    requests: {
      queued: () => fake.requests.filter((r) => r.state === 'queued'),
      open: () => fake.requests.filter((r) => r.state !== 'approved' && r.state !== 'denied'),
      get: (id: number) => fake.requests.find((r) => r.id === id),
      update: (id: number, patch: Partial<StoredRequest>) => {
        const index = fake.requests.findIndex((r) => r.id === id);
        const before = fake.requests[index]!;
        const after = { ...before, ...patch };
        if (JSON.stringify(after) === JSON.stringify(before)) return undefined;
        fake.requests[index] = after;
        return after;
      },
    },
    requestChanged: () => undefined,
    rulesArrived: (notices: RuleNotice[]) => fake.notices.push(...notices),
  };
  (fake as { agent: Agent }).agent = agent as unknown as Agent;
  return fake;
}

export function context(fake: FakeAgent, transport: SyncTransport): StageContext {
  return { agent: fake.agent, transport };
}

export function storedEvent(id: number): StoredEvent {
  return {
    id,
    fileSha256: String(id).repeat(64).slice(0, 64),
    filePath: `/tmp/bin-${id}`,
    fileName: `bin-${id}`,
    executingUser: 'ada',
    uid: 1000,
    executionTime: 1_700_000_000 + id,
    lastSeen: 1_700_000_000 + id,
    occurrences: 1,
    pid: 10 + id,
    ppid: null,
    parentName: null,
    decision: 'BLOCK_BINARY',
    loggedInUsers: ['ada'],
    currentSessions: [],
    fileSize: null,
    package: null,
    reason: null,
    uploaded: false,
  };
}
