// The Gatehouse agent takes its client mode from the backend's settings profiles: an admin's
// change in the console moves it between MONITOR and LOCKDOWN at its next sync (after postflight,
// as Santa does), and the Santa settings it has no Linux counterpart for are named, not applied.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../../../../../main/agent/agent';
import { parseConfig } from '../../../../../../main/agent/config/config';
import { SyncClient } from '../../../../../../main/agent/sync/client';
import { preflight } from '../../../../../../main/agent/sync/stages/preflight';
import { SyncTransport } from '../../../../../../main/agent/sync/transport';
import { tempDir } from '../../../../../helpers/files';
import { startTestServer, type TestServer } from '../../../../../helpers/server';

describe('agent preflight against the backend', () => {
  let server: TestServer;
  const dir = tempDir('preflight-agent');
  let agent: Agent;
  let token: string;

  beforeAll(async () => {
    server = await startTestServer('sqlite');
    const { config } = parseConfig(
      JSON.stringify({
        ClientMode: 'MONITOR',
        StateDir: join(dir.dir, 'state'),
        MachineID: 'lx-1',
      }),
      '/t',
      () => 'm',
    );
    agent = new Agent(config, { backend: 'fake' });
    agent.start();
    token = await server.repos.machines.enroll('lx-1', { tags: ['builders'] });
  }, 60_000);
  afterAll(async () => {
    agent?.stop();
    await server?.close();
    dir.remove();
  });

  const options = () => ({
    baseUrl: `${server.base}/santa/`,
    machineId: 'lx-1',
    token,
    retries: 0,
  });

  it('moves to the mode a profile sets, and back', async () => {
    const client = new SyncClient(agent, options());
    await server.repos.settings.put(
      { scope: 'tag', value: 'builders', priority: 0, values: { client_mode: 'LOCKDOWN' } },
      'root',
    );
    expect((await client.sync()).clientMode).toBe('LOCKDOWN');
    expect(agent.mode).toBe('LOCKDOWN');
    await server.repos.settings.put(
      { scope: 'machine', value: 'lx-1', priority: 0, values: { client_mode: 'MONITOR' } },
      'root',
    );
    await client.sync();
    expect(agent.mode).toBe('MONITOR');
  });

  it('takes batch size, interval and switches, and names what it leaves alone', async () => {
    await server.repos.settings.put(
      {
        scope: 'global',
        value: '',
        priority: 0,
        values: {
          batch_size: 12,
          full_sync_interval: 900,
          enable_transitive_rules: true,
          allowed_path_regex: '^/opt/tools/',
          block_usb_mount: true,
        },
      },
      'root',
    );
    const answer = await preflight({ agent, transport: new SyncTransport(options()) }, false);
    expect(answer).toMatchObject({
      batchSize: 12,
      fullSyncIntervalS: 900,
      clientMode: 'MONITOR',
      enableTransitiveRules: true,
      ignored: ['allowed_path_regex', 'block_usb_mount', 'removable_media_policy'],
    });
  });
});
