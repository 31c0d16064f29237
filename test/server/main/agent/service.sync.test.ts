// The service enrolls itself with the backend and syncs when asked over the control socket.
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlClient } from '../../../../main/agent/control/client';
import { startService, type RunningService } from '../../../../main/agent/service';
import type { Repositories } from '../../../../server/app';
import { tempDir } from '../../../helpers/files';
import { startTestServer } from '../../../helpers/server';

describe('service ↔ backend', () => {
  const dir = tempDir('service-sync');
  let repos: Repositories;
  let service: RunningService;
  let closeServer: () => Promise<void>;
  const socketPath = join(dir.dir, 'gatehouse.sock');

  beforeAll(async () => {
    const server = await startTestServer('sqlite', { enrollmentSecret: 'team-secret' });
    ({ repos, close: closeServer } = server);
    const address = server.base;
    const configPath = join(dir.dir, 'config.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        ClientMode: 'MONITOR',
        SyncBaseURL: `${address}/santa/`,
        EnrollmentSecret: 'team-secret',
        MachineID: 'laptop-42',
        MachineOwner: 'ada',
        StateDir: join(dir.dir, 'state'),
        SocketPath: socketPath,
      }),
    );
    service = await startService(configPath, 'fake', () => {});
  });
  afterAll(async () => {
    await service?.stop();
    await closeServer?.();
    dir.remove();
  });

  it('enrolls with the secret, keeps its token private, and syncs on `sync`', async () => {
    await repos.rules.put({
      identifier: 'a'.repeat(64),
      rule_type: 'BINARY',
      policy: 'ALLOWLIST',
      scope: 'global',
      created_by: 'helpdesk',
    });
    const client = await ControlClient.connect(socketPath);
    try {
      expect(await client.call('sync')).toEqual({ started: true });
      const deadline = Date.now() + 10_000;
      while (service.agent.status().lastSync === null && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 25));
      expect(service.agent.status().lastSync).not.toBeNull();
    } finally {
      client.close();
    }
    expect(service.agent.rules.get('BINARY', 'a'.repeat(64))).toMatchObject({
      policy: 'ALLOWLIST',
      source: 'sync',
    });
    expect(await repos.machines.get('laptop-42')).toMatchObject({
      primary_user: 'ada',
      client_mode: 'MONITOR',
    });
    expect(statSync(join(dir.dir, 'state', 'sync-token')).mode & 0o777).toBe(0o600);
  });
});
