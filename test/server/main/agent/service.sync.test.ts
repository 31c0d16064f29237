// The service enrolls itself with the backend and syncs when asked over the control socket.
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlClient } from '../../../../main/agent/control/client';
import { startService, type RunningService } from '../../../../main/agent/service';
import { buildApp, type Repositories } from '../../../../server/app';
import { openServerDatabase, type Db } from '../../../../server/db/connect';
import { tempDir } from '../../../helpers/files';

describe('service ↔ backend', () => {
  const dir = tempDir('service-sync');
  let db: Db;
  let repos: Repositories;
  let service: RunningService;
  let closeServer: () => Promise<void>;
  const socketPath = join(dir.dir, 'gatehouse.sock');

  beforeAll(async () => {
    db = await openServerDatabase(join(dir.dir, 'server'));
    const built = buildApp({ db, enrollmentSecret: 'team-secret' });
    repos = built.repos;
    const address = await built.app.listen({ host: '127.0.0.1', port: 0 });
    closeServer = async () => {
      await built.app.close();
      await db.destroy();
    };
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
