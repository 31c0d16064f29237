import { join } from 'node:path';
import { Agent } from '../../main/agent/agent';
import { parseConfig } from '../../main/agent/config/config';
import { SyncScheduler } from '../../main/agent/sync/scheduler';
import { until } from './wait';

/**
 * An agent (fake exec source, LOCKDOWN) enrolled with the backend at `base` and syncing, with
 * its push stream connected. The caller stops it with stop().
 */
export async function startSyncingAgent(
  stateDir: string,
  base: string,
  settings: Record<string, unknown> = {},
): Promise<{ agent: Agent; scheduler: SyncScheduler; stop(): void }> {
  const { config } = parseConfig(
    JSON.stringify({
      ClientMode: 'LOCKDOWN',
      StateDir: join(stateDir, 'agent'),
      SyncBaseURL: `${base}/santa/`,
      EnrollmentSecret: 'team-secret',
      ...settings,
    }),
    '(test)',
    () => 'm',
  );
  const agent = new Agent(config, { backend: 'fake' });
  agent.start();
  const scheduler = new SyncScheduler(agent);
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
