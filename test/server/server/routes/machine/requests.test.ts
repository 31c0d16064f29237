// Approval requests on both engines: machines create and read only their own; the helpdesk
// approves (the rule lands in the same transaction), denies or asks; every change is audited.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEntries } from '../../../../helpers/audit';
import type { Repositories } from '../../../../../server/app';
import type { Db } from '../../../../../server/db/connect';
import { ENGINES, startTestServer, type TestServer } from '../../../../helpers/server';

const sha = (n: number) => n.toString(16).padStart(64, '0');

describe.each(ENGINES)('approval requests on %s', (engine) => {
  let server: TestServer;
  let db: Db;
  let repos: Repositories;
  let base: string;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    server = await startTestServer(engine);
    ({ db, repos, base } = server);
    for (const [machine, user] of [
      ['mac-a', 'ada'],
      ['mac-b', 'bob'],
      ['mac-c', 'ada'],
    ] as const) {
      tokens[machine] = await repos.machines.enroll(machine, { primary_user: user });
    }
  }, 60_000);
  afterAll(() => server?.close());

  async function api(method: string, path: string, machine: string | undefined, body?: unknown) {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(body ? { 'content-type': 'application/json' } : {}),
        ...(machine ? { authorization: `Bearer ${tokens[machine]}` } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  }
  const newRequest = (n: number, clientId = String(n)) => ({
    client_request_id: clientId,
    requester: 'ada',
    justification: 'I need this tool for the quarterly release.',
    event: {
      file_sha256: sha(n),
      file_path: '/home/ada/bin',
      file_name: `tool-${n}`,
      decision: 'BLOCK_UNKNOWN',
      execution_time: 1_700_000_000,
    },
  });

  it('creates once per client id, and shows a machine only its own requests', async () => {
    const created = await api('POST', '/api/v1/requests', 'mac-a', newRequest(1));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      state: 'pending',
      file_name: 'tool-1',
      requester: 'ada',
      messages: [],
    });
    const again = await api('POST', '/api/v1/requests', 'mac-a', newRequest(1));
    expect(again).toMatchObject({ status: 200, body: { id: created.body.id } });
    expect((await api('GET', `/api/v1/requests/${created.body.id}`, 'mac-b')).status).toBe(404);
    expect((await api('GET', '/api/v1/requests', 'mac-b')).body.requests).toEqual([]);
    expect((await api('GET', '/api/v1/requests', 'mac-a')).body.requests).toHaveLength(1);
    expect((await api('GET', '/api/v1/requests', undefined)).status).toBe(401);
  });

  it.each([
    [
      { ...newRequest(2), justification: '' },
      'requests: justification is required (at most 2000 characters)',
    ],
    [
      { ...newRequest(2), event: { file_sha256: 'xyz' } },
      'requests: event.file_sha256 must be a SHA-256 (64 hex digits)',
    ],
    [{ ...newRequest(2), client_request_id: undefined }, 'requests: client_request_id is required'],
  ])('refuses a malformed request: %j', async (body, message) => {
    expect(await api('POST', '/api/v1/requests', 'mac-a', body)).toEqual({
      status: 400,
      body: { error: message },
    });
  });

  it('approving for "this user" creates the rule with the decision, reaching every machine of that user', async () => {
    const { body } = await api('POST', '/api/v1/requests', 'mac-a', newRequest(3));
    const approved = await repos.requests.approve(body.id, {
      scope: 'user',
      actor: 'helpdesk:grace',
      message: 'Approved for the release.',
    });
    expect(approved).toMatchObject({ state: 'approved', decided_by: 'helpdesk:grace' });
    const version = await repos.rules.currentVersion();
    const forUser = async (machine: string, user: string) =>
      (await repos.rules.changesFor(machine, 0, version, 0, 100, true, user)).map(
        (rule) => rule.identifier,
      );
    expect(await forUser('mac-c', 'ada')).toContain(sha(3));
    expect(await forUser('mac-b', 'bob')).not.toContain(sha(3));
    const seen = await api('GET', `/api/v1/requests/${body.id}`, 'mac-a');
    expect(seen.body).toMatchObject({
      state: 'approved',
      messages: [
        { author: 'helpdesk', author_name: 'helpdesk:grace', body: 'Approved for the release.' },
      ],
    });
    await expect(
      repos.requests.approve(body.id, { scope: 'machine', actor: 'helpdesk:grace' }),
    ).rejects.toThrow('is already approved');
  });

  it('asks a question, takes the answer back to pending, and denies with a message', async () => {
    const { body } = await api('POST', '/api/v1/requests', 'mac-a', newRequest(4));
    await repos.requests.ask(body.id, {
      actor: 'helpdesk:grace',
      question: 'Which project is this for?',
    });
    expect((await api('GET', `/api/v1/requests/${body.id}`, 'mac-a')).body.state).toBe(
      'needs-info',
    );
    expect(
      (
        await api('POST', `/api/v1/requests/${body.id}/reply`, 'mac-b', {
          requester: 'bob',
          body: 'mine now',
        })
      ).status,
    ).toBe(404);
    const replied = await api('POST', `/api/v1/requests/${body.id}/reply`, 'mac-a', {
      requester: 'ada',
      body: 'Project Lighthouse.',
    });
    expect(replied.body.state).toBe('pending');
    await repos.requests.deny(body.id, {
      actor: 'helpdesk:grace',
      message: 'Use the packaged version instead.',
    });
    const final = (await api('GET', `/api/v1/requests/${body.id}`, 'mac-a')).body;
    expect(final.state).toBe('denied');
    expect(final.messages.map((m: { author: string }) => m.author)).toEqual([
      'helpdesk',
      'user',
      'helpdesk',
    ]);
  });

  it('audits every change, in order', async () => {
    const rows = await auditEntries(db);
    const actions = rows.map((row) => row.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        'request.create',
        'request.approve',
        'request.ask',
        'request.reply',
        'request.deny',
      ]),
    );
    expect(rows.find((row) => row.action === 'request.approve')?.actor).toBe('helpdesk:grace');
  });
});
