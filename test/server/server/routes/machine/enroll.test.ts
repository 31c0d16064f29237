// A Gatehouse agent's enrollment over real HTTP, and a caller with only the fleet secret trying
// to take an enrolled machine id over: the live token must keep working, the attempt must wait
// for an admin as an audited conflict, and only the same installation (its enrollment key) or
// an approved claim gets a new token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../../../server/app';
import { auditedActions, auditEntries } from '../../../../helpers/audit';
import { ENGINES, startTestServer, type TestServer } from '../../../../helpers/server';
import { postJson } from '../../../../helpers/http-json';

const SECRET = 'fleet-secret-for-tests';
const KEY = 'k'.repeat(40);

describe.each(ENGINES)('enrollment on %s', (engine) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(engine, { enrollmentSecret: SECRET });
  }, 60_000);
  afterAll(() => server?.close());

  const enroll = (body: Record<string, unknown>) =>
    postJson(`${server.base}/api/v1/enroll`, { enrollment_secret: SECRET, ...body });
  const preflight = (machineId: string, token: string) =>
    postJson(
      `${server.base}/santa/preflight/${machineId}`,
      { serial_num: 'S1', hostname: 'h' },
      { authorization: `Bearer ${token}` },
    );
  it('refuses a takeover with only the fleet secret: the machine keeps syncing, the claim waits, audited', async () => {
    const first = await enroll({ machine_id: 'm-victim', enrollment_key: KEY, serial_num: 'S1' });
    expect(first.status).toBe(200);
    const token = first.body.token as string;
    expect((await preflight('m-victim', token)).status).toBe(200);

    const attack = await enroll({ machine_id: 'm-victim', hostname: 'evil' });
    expect(attack.status).toBe(409);
    expect(attack.body).toMatchObject({ state: 'pending', conflict_id: expect.any(Number) });
    expect(attack.body.error).toMatch(/token stays valid until an administrator approves/);
    // Another key is no proof either.
    const other = await enroll({ machine_id: 'm-victim', enrollment_key: 'x'.repeat(40) });
    expect(other.status).toBe(409);

    expect((await preflight('m-victim', token)).status).toBe(200);
    expect(await auditedActions(server.db, 'm-victim')).toEqual([
      'machine.enroll',
      'enroll.conflict',
      'enroll.conflict',
    ]);
    // The same claim again counts an attempt instead of adding rows.
    await enroll({ machine_id: 'm-victim', hostname: 'evil' });
    const conflicts = await server.app.enrollment.repo.conflicts('pending', {
      limit: 50,
      offset: 0,
    });
    const mine = conflicts.rows.filter((row) => row.machine_id === 'm-victim');
    expect(mine.map((row) => row.attempts).sort()).toEqual([1, 2]);
  });

  it('re-enrolls the same installation, proven by its enrollment key; the old token stops', async () => {
    const first = await enroll({ machine_id: 'm-reinstall', enrollment_key: KEY });
    const again = await enroll({ machine_id: 'm-reinstall', enrollment_key: KEY });
    expect(again.status).toBe(200);
    expect(again.body.token).not.toBe(first.body.token);
    expect((await preflight('m-reinstall', first.body.token as string)).status).toBe(401);
    expect((await preflight('m-reinstall', again.body.token as string)).status).toBe(200);
    expect(await auditedActions(server.db, 'm-reinstall')).toEqual([
      'machine.enroll',
      'machine.reenroll',
    ]);
  });

  it("lets an approved claim's agent enroll once; a rejected claim is told so", async () => {
    const first = await enroll({ machine_id: 'm-claimed', enrollment_key: KEY });
    const newKey = 'n'.repeat(40);
    const claim = await enroll({ machine_id: 'm-claimed', enrollment_key: newKey });
    await server.app.enrollment.repo.decide(claim.body.conflict_id as number, true, 'admin');
    const approved = await enroll({ machine_id: 'm-claimed', enrollment_key: newKey });
    expect(approved.status).toBe(200);
    expect((await preflight('m-claimed', first.body.token as string)).status).toBe(401);

    const rogueKey = 'r'.repeat(40);
    const rogue = await enroll({ machine_id: 'm-claimed', enrollment_key: rogueKey });
    await server.app.enrollment.repo.decide(rogue.body.conflict_id as number, false, 'admin');
    const refused = await enroll({ machine_id: 'm-claimed', enrollment_key: rogueKey });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ state: 'rejected' });
    expect((await preflight('m-claimed', approved.body.token as string)).status).toBe(200);
    expect(await auditedActions(server.db, 'm-claimed')).toEqual([
      'machine.enroll',
      'enroll.conflict',
      'enroll.conflict.approve',
      'machine.reenroll',
      'enroll.conflict',
      'enroll.conflict.reject',
    ]);
  });

  it('lets an agent enrolled without a key register one with its token, once', async () => {
    const old = await enroll({ machine_id: 'm-old-agent' });
    const register = (key: string, token = old.body.token as string) =>
      postJson(
        `${server.base}/api/v1/machines/m-old-agent/enrollment-key`,
        { enrollment_key: key },
        { authorization: `Bearer ${token}` },
      );
    expect((await register(KEY, 'not-its-token')).status).toBe(401);
    expect((await register('short')).status).toBe(400);
    expect(await register(KEY)).toMatchObject({ status: 200, body: { registered: true } });
    expect((await register(KEY)).status).toBe(200);
    const other = await register('o'.repeat(40));
    expect(other.status).toBe(409);
    expect(other.body.error).toMatch(/another enrollment key registered already/);
    const again = await enroll({ machine_id: 'm-old-agent', enrollment_key: KEY });
    expect(again.status).toBe(200);
    expect(await auditedActions(server.db, 'm-old-agent')).toEqual([
      'machine.enroll',
      'machine.enrollment-key',
      'machine.reenroll',
    ]);
  });

  it('keeps the tags a machine claims as claims: none is in force until an admin sets it', async () => {
    const reply = await enroll({
      machine_id: 'm-tags',
      tags: ['build-servers'],
      primary_user: 'ada',
    });
    expect(reply.status).toBe(200);
    const machine = await server.repos.machines.get('m-tags');
    expect(JSON.parse(machine!.tags)).toEqual([]);
    expect(JSON.parse(machine!.claimed_tags)).toEqual(['build-servers']);
  });

  it('refuses a wrong secret, audited', async () => {
    const reply = await postJson(`${server.base}/api/v1/enroll`, {
      enrollment_secret: 'guess',
      machine_id: 'm-guess',
    });
    expect(reply.status).toBe(401);
    expect(reply.body).toEqual({ error: 'enroll: wrong enrollment secret' });
    expect(await auditedActions(server.db, 'm-guess')).toEqual(['enroll.refuse']);
  });
});

describe('the enrollment throttle', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('sqlite', {
      enrollmentSecret: SECRET,
      enrollLimits: { perAddress: 3, inAll: 5, windowMs: 60_000 },
    });
  }, 60_000);
  afterAll(() => server?.close());

  const guess = (from: string) =>
    postJson(
      `${server.base}/api/v1/enroll`,
      { enrollment_secret: 'guess', machine_id: 'm-brute' },
      {},
      from,
    );

  it('answers 429 with Retry-After per address, then for all addresses together', async () => {
    const first = [];
    for (let i = 0; i < 4; i++) first.push(await guess('127.0.0.1'));
    expect(first.map((reply) => reply.status)).toEqual([401, 401, 401, 429]);
    expect(Number(first[3]!.headers['retry-after'])).toBeGreaterThan(0);
    expect(first[3]!.body.error).toMatch(/too many enrollment attempts; try again in \d+ s/);
    // Another address has its own budget, until the fleet-wide one (5) is spent.
    const second = [];
    for (let i = 0; i < 3; i++) second.push((await guess('127.0.0.2')).status);
    expect(second).toEqual([401, 429, 429]);
    // The right secret is throttled as well: the limit counts attempts, not failures.
    const right = await postJson(
      `${server.base}/api/v1/enroll`,
      { enrollment_secret: SECRET, machine_id: 'm-late' },
      {},
      '127.0.0.3',
    );
    expect(right.status).toBe(429);
    const refusals = await auditEntries(server.db, { action: 'enroll.refuse' });
    expect(refusals).toHaveLength(4);
    const metrics = await (await fetch(`${server.base}/metrics`)).text();
    expect(metrics).toContain('gatehouse_limit_hits_total{limit="enroll_address"} 1');
    expect(metrics).toContain('gatehouse_limit_hits_total{limit="enroll_all"} 3');
  });
});

describe('the enrollment throttle across server processes on one PostgreSQL', () => {
  it('counts attempts at either process against the same limits', async () => {
    const limits = { perAddress: 3, inAll: 100, windowMs: 60_000 };
    const one = await startTestServer('postgres', {
      enrollmentSecret: SECRET,
      enrollLimits: limits,
    });
    const other = buildApp({ db: one.db, enrollmentSecret: SECRET, enrollLimits: limits });
    try {
      const otherBase = await other.app.listen({ host: '127.0.0.1', port: 0 });
      const guess = (base: string) =>
        postJson(`${base}/api/v1/enroll`, { enrollment_secret: 'guess', machine_id: 'm-multi' });
      const statuses = [];
      for (const base of [one.base, otherBase, one.base, otherBase])
        statuses.push((await guess(base)).status);
      expect(statuses).toEqual([401, 401, 401, 429]);
    } finally {
      await other.app.close();
      await one.close();
    }
  }, 60_000);
});
