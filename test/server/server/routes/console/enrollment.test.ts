// The console's enrollment conflicts and machine tags over real HTTP: helpdesk reads, only an
// admin decides or sets tags, every decision is audited, and a decided conflict stays decided.
import { beforeAll, describe, expect, it } from 'vitest';
import { callConsole, logInThroughApi, type ConsoleSession } from '../../../../helpers/console-api';
import { postJson } from '../../../../helpers/http-json';
import { ENGINES, startTestServer } from '../../../../helpers/server';
import { useStarted } from '../../../../helpers/scratch';

const SECRET = 'console-enrollment-secret';

describe.each(ENGINES)('enrollment in the console on %s', (engine) => {
  const server = useStarted(() => startTestServer(engine, { enrollmentSecret: SECRET }));
  let admin: ConsoleSession;
  let helpdesk: ConsoleSession;
  let viewer: ConsoleSession;

  beforeAll(async () => {
    const users = server.repos.users;
    await users.create('root-admin', 'admin-password-1', 'admin', 'test');
    await users.create('hal', 'helpdesk-password-1', 'helpdesk', 'test');
    await users.create('vic', 'viewer-password-1', 'viewer', 'test');
    admin = await logInThroughApi(server.base, {
      username: 'root-admin',
      password: 'admin-password-1',
    });
    helpdesk = await logInThroughApi(server.base, {
      username: 'hal',
      password: 'helpdesk-password-1',
    });
    viewer = await logInThroughApi(server.base, { username: 'vic', password: 'viewer-password-1' });
  });

  const enroll = (body: Record<string, unknown>) =>
    postJson(`${server.base}/api/v1/enroll`, { enrollment_secret: SECRET, ...body });
  const call = (session: ConsoleSession, method: string, path: string, body?: unknown) =>
    callConsole(server.base, method, `/console/api${path}`, {
      cookie: session.cookie,
      csrf: session.csrf,
      ...(body === undefined ? {} : { body }),
    });

  it('lists a conflict with its claims beside the binding; only an admin decides, audited', async () => {
    await enroll({ machine_id: 'console-m1', enrollment_key: 'a'.repeat(40), serial_num: 'S-1' });
    const claim = await enroll({
      machine_id: 'console-m1',
      serial_num: 'S-OTHER',
      hostname: 'claimed-host',
    });
    const id = claim.body.conflict_id as number;

    expect((await call(viewer, 'GET', '/enrollment/conflicts')).status).toBe(403);
    const list = await call(helpdesk, 'GET', '/enrollment/conflicts');
    expect(list.status).toBe(200);
    expect(list.body.conflicts).toContainEqual(
      expect.objectContaining({
        id,
        machine_id: 'console-m1',
        kind: 'agent-reenroll',
        state: 'pending',
        claimed_serial: 'S-OTHER',
        claims: expect.objectContaining({ hostname: 'claimed-host' }),
        bound: expect.objectContaining({ identity: 'agent', serial: 'S-1' }),
      }),
    );
    expect(JSON.stringify(list.body)).not.toContain('claim_key_hash');

    expect((await call(helpdesk, 'POST', `/enrollment/conflicts/${id}/reject`)).status).toBe(403);
    const noCsrf = await callConsole(
      server.base,
      'POST',
      `/console/api/enrollment/conflicts/${id}/reject`,
      { cookie: admin.cookie },
    );
    expect(noCsrf.status).toBe(403);
    const rejected = await call(admin, 'POST', `/enrollment/conflicts/${id}/reject`);
    expect(rejected).toEqual({ status: 200, body: { id, state: 'rejected' } });
    const again = await call(admin, 'POST', `/enrollment/conflicts/${id}/approve`);
    expect(again.status).toBe(409);
    expect(again.body.error).toBe(`enrollment conflict ${id} is rejected already`);
    expect((await call(admin, 'POST', '/enrollment/conflicts/999999/approve')).status).toBe(404);
    expect((await call(admin, 'POST', '/enrollment/conflicts/nope/approve')).status).toBe(400);

    const audit = await call(helpdesk, 'GET', '/audit?action=enroll.conflict');
    expect(audit.body.entries.map((entry: { action: string }) => entry.action)).toEqual([
      'enroll.conflict.reject',
      'enroll.conflict',
    ]);
    expect(audit.body.entries[0].actor).toBe('root-admin');
  });

  it('shows claimed tags as claims until an admin puts tags in force, audited', async () => {
    await enroll({ machine_id: 'console-m2', tags: ['laptops', 'eu'] });
    const claims = await call(helpdesk, 'GET', '/enrollment/tag-claims');
    expect(claims.body.machines).toContainEqual(
      expect.objectContaining({
        machine_id: 'console-m2',
        tags: [],
        claimed_tags: ['laptops', 'eu'],
      }),
    );
    expect(
      (await call(helpdesk, 'POST', '/machines/console-m2/tags', { tags: ['x'] })).status,
    ).toBe(403);
    const bad = await call(admin, 'POST', '/machines/console-m2/tags', { tags: ['has space'] });
    expect(bad.status).toBe(400);
    const set = await call(admin, 'POST', '/machines/console-m2/tags', { tags: ['laptops', 'eu'] });
    expect(set).toEqual({ status: 200, body: { tags: ['laptops', 'eu'] } });
    expect(JSON.parse((await server.repos.machines.get('console-m2'))!.tags)).toEqual([
      'laptops',
      'eu',
    ]);
    const after = await call(helpdesk, 'GET', '/enrollment/tag-claims');
    expect(after.body.machines.map((m: { machine_id: string }) => m.machine_id)).not.toContain(
      'console-m2',
    );
    const audit = await call(helpdesk, 'GET', '/audit?action=machine.tags');
    expect(audit.body.entries[0]).toMatchObject({
      actor: 'root-admin',
      target: 'machine:console-m2',
      details: { from: [], to: ['laptops', 'eu'] },
    });
    expect((await call(admin, 'POST', '/machines/no-such/tags', { tags: [] })).status).toBe(404);
  });
});
