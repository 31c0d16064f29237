// A hostile caller holding the fleet credential, over real HTTP, against Macs that sync on it:
// every stage after preflight belongs to the sync whose preflight passed the machine's serial
// check (the sync token, Santa's XSRF token, ties them), a machine id in a path buys nothing with
// the fleet credential, a rule cursor works only in the sync it was issued for, and the fleet
// secret cannot enroll machines without end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditedActions } from '../../../helpers/audit';
import { postJson } from '../../../helpers/http-json';
import { SantaClient, SantaSyncError, type SantaMessage } from '../../../helpers/santa-client';
import { ENGINES, startTestServer, type TestServer } from '../../../helpers/server';

const SECRET = 'session-fleet-secret';
const FLEET = { Authorization: `Bearer ${SECRET}` };
const sha = (n: number) => n.toString(16).padStart(64, '0');
const EVENT = { file_sha256: sha(99), file_path: '/tmp/x', decision: 'BLOCK_BINARY' };

/** The refusal a stage answered with. */
async function refusal(stage: Promise<unknown>) {
  const error = await stage.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(SantaSyncError);
  const refused = error as SantaSyncError;
  return { status: refused.status, error: String(JSON.parse(refused.body).error) };
}

describe.each(ENGINES)('a fleet-credential caller acting for another Mac on %s', (engine) => {
  let server: TestServer;
  let macs = 0;
  beforeAll(async () => {
    server = await startTestServer(engine, { enrollmentSecret: SECRET, pageSize: 2 });
  }, 60_000);
  afterAll(() => server?.close());

  /** A Mac on the fleet profile with its own rules, synced once. */
  async function syncedMac(serial: string): Promise<SantaClient> {
    const machineId = `session-${engine}-${++macs}`;
    for (let n = 1; n <= 5; n++)
      await server.repos.rules.put({
        identifier: sha(macs * 100 + n),
        rule_type: 'BINARY',
        policy: 'BLOCKLIST',
        scope: 'machine',
        scope_value: machineId,
        created_by: 'test',
      });
    const mac = new SantaClient({
      syncBaseURL: `${server.base}/santa/`,
      machineId,
      headers: FLEET,
      facts: { serial_number: serial },
    });
    await mac.sync();
    return mac;
  }
  /** Someone else with the fleet profile, naming the Mac's machine id, who skips preflight. */
  const thiefFor = (mac: SantaClient, xsrf?: SantaClient['xsrf']) => {
    const thief = new SantaClient({ ...mac.options, facts: { serial_number: 'C02THIEF' } });
    thief.xsrf = xsrf;
    return thief;
  };
  const eventsOf = async (machineId: string) =>
    (
      await server.db
        .selectFrom('events')
        .select('id')
        .where('machine_id', '=', machineId)
        .execute()
    ).length;

  it("cannot post events as another Mac, with no token, its own token or another Mac's", async () => {
    const mac = await syncedMac('C02EVENTS');
    const other = await syncedMac('C02OTHER');
    await mac.post('preflight', { serial_number: 'C02EVENTS' });
    for (const thief of [thiefFor(mac), thiefFor(mac, other.xsrf)]) {
      const refused = await refusal(thief.post('eventupload', { events: [EVENT] }));
      expect(refused.status).toBe(403);
      expect(refused.error).toMatch(
        /not part of a sync of machine .*run a preflight as this machine/,
      );
    }
    expect(await eventsOf(mac.options.machineId)).toBe(0);
    await mac.post('eventupload', { events: [EVENT] });
    expect(await eventsOf(mac.options.machineId)).toBe(1);
    expect(await auditedActions(server.db, mac.options.machineId)).toContain('enroll.refuse');
  });

  it('cannot complete a sync for another Mac with a postflight', async () => {
    const mac = await syncedMac('C02POSTFLIGHT');
    await server.repos.rules.put({
      identifier: sha(9_000),
      rule_type: 'BINARY',
      policy: 'BLOCKLIST',
      scope: 'machine',
      scope_value: mac.options.machineId,
      created_by: 'test',
    });
    await mac.post('preflight', { serial_number: 'C02POSTFLIGHT' });
    const before = await server.repos.machines.get(mac.options.machineId);
    const refused = await refusal(thiefFor(mac).post('postflight', {}));
    expect(refused.status).toBe(403);
    const after = await server.repos.machines.get(mac.options.machineId);
    expect(after?.acked_version).toEqual(before?.acked_version);
    expect(after?.last_sync_at).toEqual(before?.last_sync_at);
    // The Mac's own sync goes on and brings the rule the thief tried to acknowledge away.
    await mac.sync();
    expect(mac.rule(sha(9_000))?.policy).toBe('BLOCKLIST');
  });

  it('reads nothing of a Mac by its machine id in a path with the fleet credential', async () => {
    const mac = await syncedMac('C02PATHS');
    const id = mac.options.machineId;
    const bearer = { authorization: FLEET.Authorization };
    for (const path of [`/api/v1/machines/${id}/stream`, `/api/v1/requests`]) {
      const response = await fetch(`${server.base}${path}`, { headers: bearer });
      expect({ path, status: response.status }).toEqual({ path, status: 401 });
      await response.body?.cancel();
    }
    for (const path of [`/api/v1/machines/${id}/posture`, `/api/v1/machines/${id}/enrollment-key`])
      expect((await postJson(`${server.base}${path}`, {}, bearer)).status).toBe(401);
    const console = await fetch(`${server.base}/console/api/machines/${id}`, { headers: bearer });
    expect(console.status).toBe(401);
  });

  it("refuses a rule cursor from another Mac's sync, or one it never issued", async () => {
    const mac = await syncedMac('C02CURSOR');
    const other = await syncedMac('C02CURSOR2');
    for (const client of [mac, other])
      await client.post('preflight', {
        serial_number: client === mac ? 'C02CURSOR' : 'C02CURSOR2',
        request_clean_sync: true,
      });
    const page: SantaMessage = await other.post('ruledownload', {});
    expect(page.cursor).toBeTruthy();
    for (const cursor of [String(page.cursor), '1']) {
      const refused = await refusal(mac.post('ruledownload', { cursor }));
      expect(refused.status).toBe(400);
      expect(refused.error).toMatch(/cursor was not issued for this machine's sync in progress/);
    }
    // Its own cursors still page through its rules.
    const first = await mac.post('ruledownload', {});
    const second = await mac.post('ruledownload', { cursor: first.cursor });
    expect((second.rules as unknown[]).length).toBeGreaterThan(0);
  });
});

describe.each(ENGINES)('the machine cap (GATEHOUSE_MAX_MACHINES) on %s', (engine) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(engine, { enrollmentSecret: SECRET, maxMachines: 3 });
  }, 60_000);
  afterAll(() => server?.close());

  const enroll = (machineId: string, key = machineId.padEnd(40, 'k')) =>
    postJson(`${server.base}/api/v1/enroll`, {
      enrollment_secret: SECRET,
      machine_id: machineId,
      enrollment_key: key,
    });
  const mac = (machineId: string) =>
    new SantaClient({
      syncBaseURL: `${server.base}/santa/`,
      machineId,
      headers: FLEET,
      facts: { serial_number: `S-${machineId}` },
    });

  it('refuses new machines past the cap, counted and audited, while enrolled ones carry on', async () => {
    expect((await enroll('cap-agent-1')).status).toBe(200);
    expect((await enroll('cap-agent-2')).status).toBe(200);
    await mac('cap-mac-3').sync();

    const agent = await enroll('cap-agent-4');
    expect(agent.status).toBe(429);
    expect(agent.body.error).toMatch(/holds 3 machines, its most \(GATEHOUSE_MAX_MACHINES\)/);
    expect(agent.headers['retry-after']).toBeDefined();
    const refused = await refusal(mac('cap-mac-5').sync());
    expect(refused.status).toBe(429);
    expect(await server.repos.machines.get('cap-mac-5')).toBeUndefined();
    expect(await server.repos.machines.get('cap-agent-4')).toBeUndefined();
    expect(await auditedActions(server.db, 'cap-mac-5')).toEqual(['enroll.refuse']);

    // Machines it holds still sync and re-enroll.
    await mac('cap-mac-3').sync();
    expect((await enroll('cap-agent-1')).status).toBe(200);
    const metrics = await (await fetch(`${server.base}/metrics`)).text();
    expect(metrics).toMatch(/gatehouse_limit_hits_total\{limit="machines"\} 2/);
  });
});
