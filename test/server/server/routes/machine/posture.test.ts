// Posture on the backend, on both engines: a machine delivers its results with its own token
// (and only its own), each delivery replaces the last, and the console reads fleet posture per
// check and each machine's results. Then the agent's sync delivers them for real.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostureResult } from '../../../../../common/posture';
import { startService } from '../../../../../main/agent/service';
import type { Repositories } from '../../../../../server/app';
import { tempDir } from '../../../../helpers/files';
import { startSyncingAgent } from '../../../../helpers/agent';
import { ENGINES, startTestServer, type TestServer } from '../../../../helpers/server';

const result = (
  id: string,
  status: PostureResult['status'],
  evidence = `${id} said ${status}`,
): PostureResult => ({
  id,
  title:
    id === 'linux.firewall' ? 'Firewall' : id === 'linux.disk-encryption' ? 'Disk encryption' : id,
  status,
  evidence,
  remediation: `fix ${id}`,
  checkedAt: 1_700_000_000_000,
});

describe.each(ENGINES)('posture on %s', (engine) => {
  let server: TestServer;
  let repos: Repositories;
  let base: string;
  const tokens: Record<string, string> = {};
  let cookie = '';

  beforeAll(async () => {
    server = await startTestServer(engine);
    ({ repos, base } = server);
    for (const [id, hostname] of [
      ['m-ada', 'ada-laptop'],
      ['m-bob', 'bob-desktop'],
      ['m-cy', 'cy-laptop'],
    ] as const)
      tokens[id] = await repos.machines.enroll(id, { hostname, primary_user: id.slice(2) });
    await repos.users.create('vera', 'viewer-password-1', 'viewer', 'test');
    const login = await fetch(`${base}/console/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'vera', password: 'viewer-password-1' }),
    });
    cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  }, 60_000);
  afterAll(() => server?.close());

  const deliver = (machineId: string, body: unknown, token = tokens[machineId]) =>
    fetch(`${base}/api/v1/machines/${machineId}/posture`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(body),
    });
  const consoleGet = async (path: string, withCookie = true) => {
    const response = await fetch(`${base}/console/api${path}`, {
      headers: withCookie ? { cookie } : {},
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it("stores a machine's results, and the next delivery replaces them", async () => {
    const first = await deliver('m-ada', {
      results: [
        result('linux.disk-encryption', 'fail'),
        result('linux.firewall', 'fail'),
        result('gone.later', 'unknown'),
      ],
    });
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ stored: 3 });
    const second = await deliver('m-ada', {
      results: [result('linux.disk-encryption', 'pass'), result('linux.firewall', 'fail')],
    });
    expect(second.status).toBe(200);
    const stored = await repos.posture.forMachine('m-ada');
    expect(stored.results).toEqual([
      result('linux.disk-encryption', 'pass'),
      result('linux.firewall', 'fail'),
    ]);
    expect(stored.receivedAt).toEqual(expect.any(Number));
  });

  it("refuses a delivery without the machine's own token", async () => {
    const body = { results: [result('linux.firewall', 'pass')] };
    expect((await deliver('m-bob', body, '')).status).toBe(401);
    expect((await deliver('m-bob', body, tokens['m-ada'])).status).toBe(401); // another's token
    expect((await deliver('m-nobody', body, tokens['m-ada'])).status).toBe(401);
    expect((await repos.posture.forMachine('m-bob')).results).toEqual([]);
  });

  it.each([
    [{}, 'posture: the body must be {"results": [...]}'],
    [
      { results: [{ ...result('a', 'pass'), status: 'ok' }] },
      'posture: results[0] must be {id, title, status: pass|fail|unknown, evidence, remediation, checkedAt}, with texts of at most 2000 characters',
    ],
    [
      { results: [result('a', 'pass'), result('a', 'fail')] },
      'posture: results[1] repeats the check id "a"',
    ],
    [
      { results: Array.from({ length: 101 }, (_, i) => result(`c${i}`, 'pass')) },
      'posture: at most 100 results, got 101',
    ],
  ])('refuses a malformed delivery %#, saying what is wrong', async (body, error) => {
    const response = await deliver('m-cy', body);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error });
  });

  it('gives the console fleet posture per check, and the machines behind each count', async () => {
    await deliver('m-bob', {
      results: [result('linux.disk-encryption', 'pass'), result('linux.firewall', 'pass')],
    });
    await deliver('m-cy', {
      results: [
        result('linux.disk-encryption', 'fail', '/ is ext4 on /dev/vda'),
        result('linux.firewall', 'unknown'),
      ],
    });
    const fleet = await consoleGet('/posture');
    expect(fleet.status).toBe(200);
    expect(fleet.body).toEqual({
      checks: [
        { id: 'linux.disk-encryption', title: 'Disk encryption', pass: 2, fail: 1, unknown: 0 },
        { id: 'linux.firewall', title: 'Firewall', pass: 1, fail: 1, unknown: 1 },
      ],
      machinesReporting: 3,
      machinesEnrolled: 3,
    });
    const failing = await consoleGet('/posture/linux.disk-encryption/machines?status=fail');
    expect(failing.body.machines).toEqual([
      {
        machine_id: 'm-cy',
        hostname: 'cy-laptop',
        primary_user: 'cy',
        evidence: '/ is ext4 on /dev/vda',
        checked_at: 1_700_000_000_000,
        received_at: expect.any(Number),
      },
    ]);
    const passing = await consoleGet('/posture/linux.disk-encryption/machines?status=pass');
    expect((passing.body.machines as { hostname: string }[]).map((m) => m.hostname)).toEqual([
      'ada-laptop',
      'bob-desktop',
    ]);
    expect((await consoleGet('/posture/linux.firewall/machines?status=broken')).status).toBe(400);
  });

  it("gives the console one machine's results, in the agent's order", async () => {
    const machine = await consoleGet('/machines/m-cy/posture');
    expect(machine.status).toBe(200);
    expect(machine.body).toMatchObject({
      machine_id: 'm-cy',
      hostname: 'cy-laptop',
      results: [
        result('linux.disk-encryption', 'fail', '/ is ext4 on /dev/vda'),
        result('linux.firewall', 'unknown'),
      ],
    });
    expect((await consoleGet('/machines/m-unknown/posture')).status).toBe(404);
  });

  it('needs a console session', async () => {
    expect((await consoleGet('/posture', false)).status).toBe(401);
    expect((await consoleGet('/machines/m-cy/posture', false)).status).toBe(401);
  });
});

describe.runIf(process.platform === 'linux')('the agent delivers posture with its sync', () => {
  let server: TestServer;
  const dir = tempDir('posture-sync');

  beforeAll(async () => {
    server = await startTestServer('sqlite', { enrollmentSecret: 'team-secret' });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    dir.remove();
  });

  it('the service sends its first results soon after start, not at the next full sync', async () => {
    const configPath = join(dir.dir, 'service.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        StateDir: join(dir.dir, 'service-state'),
        SocketPath: join(dir.dir, 'service.sock'),
        MachineID: 'posture-service',
        SyncBaseURL: `${server.base}/santa/`,
        EnrollmentSecret: 'team-secret',
        PostureIntervalSeconds: 3600,
      }),
    );
    const service = await startService(configPath, 'fake', () => {});
    try {
      const stored = async () => (await server.repos.posture.forMachine('posture-service')).results;
      await expect
        .poll(async () => (await stored()).length, { timeout: 50_000 })
        .toBeGreaterThan(0);
      expect(await stored()).toEqual(service.agent.posture);
      expect((await stored()).map((r) => r.id)).toContain('gatehouse.healthy');
      // After the first sync the checks run again (the health check looks at the last sync), so
      // the menu bar and gatehousectl do not say "not synced yet" until the next run an hour away.
      await expect.poll(() => service.agent.status().lastSync, { timeout: 30_000 }).not.toBeNull();
      const firstSync = service.agent.status().lastSync!;
      const healthCheckedAt = () =>
        service.agent.posture.find((result) => result.id === 'gatehouse.healthy')?.checkedAt ?? 0;
      await expect.poll(healthCheckedAt, { timeout: 30_000 }).toBeGreaterThanOrEqual(firstSync);
    } finally {
      await service.stop();
    }
  }, 60_000);

  it('sends results once they exist, and again only after the checks ran again', async () => {
    const { agent, scheduler, stop } = await startSyncingAgent(join(dir.dir, 'a'), server.base);
    try {
      const first = await scheduler.syncNow();
      expect(first?.postureDelivered).toBe(false); // nothing checked yet
      agent.setPosture([result('linux.firewall', 'fail'), result('gatehouse.healthy', 'pass')]);
      expect((await scheduler.syncNow())?.postureDelivered).toBe(true);
      expect((await server.repos.posture.forMachine('m')).results.map((r) => r.status)).toEqual([
        'fail',
        'pass',
      ]);
      expect((await scheduler.syncNow())?.postureDelivered).toBe(false); // unchanged
      agent.setPosture([result('linux.firewall', 'pass'), result('gatehouse.healthy', 'pass')]);
      expect((await scheduler.syncNow())?.postureDelivered).toBe(true);
      expect((await server.repos.posture.forMachine('m')).results[0]!.status).toBe('pass');
    } finally {
      stop();
    }
  });
});
