// Stock Santa clients that have only the fleet profile (SyncBaseURL and an Authorization header
// with the fleet credential in SyncExtraHeaders), over real HTTP: the first preflight enrolls the
// machine bound to its serial; a client with the same machine id and another serial, or the
// fleet credential used on an agent's machine id, is refused and waits as a conflict, while the
// real machine keeps syncing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditedActions } from '../../../helpers/audit';
import { postJson } from '../../../helpers/http-json';
import { SantaClient, SantaSyncError } from '../../../helpers/santa-client';
import { ENGINES, startTestServer, type TestServer } from '../../../helpers/server';

const SECRET = 'fleet-profile-secret';
/** A raw request's fleet credential and sync token, as a stock client sends them. */
const FLEET = { authorization: `Bearer ${SECRET}`, 'x-xsrf-token': 'raw-request-sync-token' };
const sha = (n: number) => n.toString(16).padStart(64, '0');

describe.each(ENGINES)('Santa clients on the fleet credential on %s', (engine) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(engine, { enrollmentSecret: SECRET });
    await server.repos.rules.put({
      identifier: sha(1),
      rule_type: 'BINARY',
      policy: 'BLOCKLIST',
      scope: 'global',
      scope_value: null,
      created_by: 'test',
    });
  }, 60_000);
  afterAll(() => server?.close());

  const client = (machineId: string, serial: string, secret = SECRET) =>
    new SantaClient({
      syncBaseURL: `${server.base}/santa/`,
      machineId,
      headers: { Authorization: `Bearer ${secret}` },
      facts: { serial_number: serial },
    });
  const refusal = async (sync: Promise<unknown>) => {
    const error = await sync.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(SantaSyncError);
    const refused = error as SantaSyncError;
    return { stage: refused.stage, status: refused.status, error: JSON.parse(refused.body).error };
  };
  it('enrolls a stock client from the fleet profile alone, bound to its serial', async () => {
    // Binary transfer: the serial is read from the decoded protobuf message.
    const mac = new SantaClient({
      ...client('C1D2-UUID-1', 'SERIAL-1').options,
      transfer: 'binary',
    });
    await mac.sync();
    expect(mac.rule(sha(1))?.policy).toBe('BLOCKLIST');
    await mac.sync();
    const machine = await server.repos.machines.get('C1D2-UUID-1');
    expect(machine).toMatchObject({ identity: 'fleet', bound_serial: 'SERIAL-1' });
    expect(await auditedActions(server.db, 'C1D2-UUID-1')).toEqual(['machine.enroll']);
  });

  it('refuses the same machine id with another serial as a conflict; the real Mac keeps syncing', async () => {
    const real = client('C1D2-UUID-2', 'SERIAL-2');
    await real.sync();
    const impostor = client('C1D2-UUID-2', 'SERIAL-EVIL');
    const refused = await refusal(impostor.sync());
    expect(refused).toMatchObject({ stage: 'preflight', status: 403 });
    expect(refused.error).toMatch(
      /bound to serial SERIAL-2, not SERIAL-EVIL; recorded as enrollment conflict \d+ for an administrator/,
    );
    await real.sync();
    expect(await auditedActions(server.db, 'C1D2-UUID-2')).toEqual([
      'machine.enroll',
      'enroll.conflict',
    ]);

    // An admin who approves the claim rebinds the id: now the other serial is the machine.
    const { rows } = await server.app.enrollment.repo.conflicts('pending', {
      limit: 50,
      offset: 0,
    });
    const conflict = rows.find((row) => row.machine_id === 'C1D2-UUID-2')!;
    expect(conflict).toMatchObject({ kind: 'fleet-mismatch', claimed_serial: 'SERIAL-EVIL' });
    await server.app.enrollment.repo.decide(conflict.id, true, 'admin');
    await impostor.sync();
    expect((await refusal(real.sync())).status).toBe(403);
  });

  it("refuses the fleet credential on an agent's machine id; the agent's token keeps working", async () => {
    const enrolled = await postJson(`${server.base}/api/v1/enroll`, {
      enrollment_secret: SECRET,
      machine_id: 'agent-box',
      enrollment_key: 'a'.repeat(40),
    });
    const refused = await refusal(client('agent-box', 'ANY').sync());
    expect(refused.status).toBe(403);
    expect(refused.error).toMatch(/belongs to an enrolled Gatehouse agent/);
    const agent = new SantaClient({
      syncBaseURL: `${server.base}/santa/`,
      machineId: 'agent-box',
      headers: { Authorization: `Bearer ${enrolled.body.token as string}` },
    });
    await agent.sync();
    expect(agent.rule(sha(1))).toBeDefined();
  });

  it('needs a first preflight with a serial, and later stages from where it ran', async () => {
    const fleet = FLEET;
    const early = await postJson(`${server.base}/santa/ruledownload/C1D2-NEW`, {}, fleet);
    expect(early.status).toBe(403);
    expect(early.body.error).toMatch(/is not known here: run a preflight first/);
    const noSerial = await postJson(`${server.base}/santa/preflight/C1D2-NEW`, {}, fleet);
    expect(noSerial.status).toBe(403);
    expect(noSerial.body.error).toMatch(/needs serial_num/);
    expect(await server.repos.machines.get('C1D2-NEW')).toBeUndefined();

    await client('C1D2-UUID-3', 'SERIAL-3').sync();
    // Without the serial check of a preflight, another address cannot act for the machine.
    const elsewhere = await postJson(
      `${server.base}/santa/ruledownload/C1D2-UUID-3`,
      {},
      fleet,
      '127.0.0.2',
    );
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.body.error).toMatch(/last ran a preflight from another address/);
  });

  it('binds a machine id claimed by two first preflights at once to exactly one of them', async () => {
    const fleet = FLEET;
    const claims = await Promise.all(
      ['RACE-A', 'RACE-B', 'RACE-C'].map((serial) =>
        postJson(`${server.base}/santa/preflight/C1D2-RACE`, { serial_num: serial }, fleet),
      ),
    );
    const won = claims.filter((claim) => claim.status === 200);
    expect(won).toHaveLength(1);
    expect(claims.every((claim) => [200, 403, 409].includes(claim.status))).toBe(true);
    const machine = await server.repos.machines.get('C1D2-RACE');
    expect(['RACE-A', 'RACE-B', 'RACE-C'][claims.indexOf(won[0]!)]).toBe(machine!.bound_serial);
    expect(await auditedActions(server.db, 'C1D2-RACE')).toContain('machine.enroll');
  });

  it('refuses a wrong fleet credential', async () => {
    const refused = await refusal(client('C1D2-UUID-4', 'SERIAL-4', 'guess').sync());
    expect(refused).toMatchObject({ status: 401, error: 'unknown machine token: enroll again' });
    expect(await server.repos.machines.get('C1D2-UUID-4')).toBeUndefined();
  });
});
