import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { Agent } from '../../main/agent/agent';
import { parseConfig } from '../../main/agent/config/config';
import { SyncScheduler } from '../../main/agent/sync/scheduler';
import { tempDir } from './files';
import { until } from './wait';

/**
 * An agent on the fake exec source, started: LOCKDOWN unless `settings` says otherwise, its state
 * in `stateDir`, its log lines to `log` (the agent's own default without one).
 */
export function startFakeAgent(
  stateDir: string,
  settings: Record<string, unknown> = {},
  log?: (line: string) => void,
): Agent {
  const { config } = parseConfig(
    JSON.stringify({ ClientMode: 'LOCKDOWN', StateDir: stateDir, ...settings }),
    '(test)',
    () => 'm',
  );
  const agent = new Agent(config, { backend: 'fake', ...(log ? { log } : {}) });
  agent.start();
  return agent;
}

/**
 * The agent each test starts on the fake exec source, in a folder of the test's own: `start`
 * stops the one running, if any, and starts another on the folder's `state` (a restart keeps the
 * state); its log is silent unless given. After each test the agent stops and the folder goes.
 */
export function useFakeAgent(prefix: string): {
  /** This test's folder. */
  dir(): string;
  /** The agent's state folder in it, made if need be. */
  stateDir(): string;
  start(settings?: Record<string, unknown>, log?: (line: string) => void): Agent;
} {
  let folder: ReturnType<typeof tempDir> | undefined;
  let running: Agent | undefined;
  afterEach(() => {
    running?.stop();
    running = undefined;
    folder?.remove();
    folder = undefined;
  });
  const dir = () => (folder ??= tempDir(prefix)).dir;
  const stateDir = () => {
    const path = join(dir(), 'state');
    mkdirSync(path, { recursive: true });
    return path;
  };
  return {
    dir,
    stateDir,
    start(settings = {}, log = () => undefined) {
      running?.stop();
      running = startFakeAgent(stateDir(), settings, log);
      return running;
    },
  };
}

/**
 * An agent (fake exec source, LOCKDOWN) enrolled with the backend at `base` and syncing, with
 * its push stream connected. The caller stops it with stop().
 */
export async function startSyncingAgent(
  stateDir: string,
  base: string,
  settings: Record<string, unknown> = {},
  /** Where in a push's spread window the agent syncs (0: at its start, just under 1: at its end). */
  random?: () => number,
): Promise<{ agent: Agent; scheduler: SyncScheduler; stop(): void }> {
  const agent = startFakeAgent(join(stateDir, 'agent'), {
    SyncBaseURL: `${base}/santa/`,
    EnrollmentSecret: 'team-secret',
    ...settings,
  });
  const scheduler = new SyncScheduler(agent, random);
  scheduler.start(0);
  const stop = () => {
    scheduler.stop();
    agent.stop();
  };
  try {
    await until(() => scheduler.pushConnected, 'the push stream');
  } catch (error) {
    stop();
    throw error;
  }
  return { agent, scheduler, stop };
}
