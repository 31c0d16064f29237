// Approval requests and events against a hostile machine over real HTTP: one open request per
// file, a bounded number of requests and of events an hour (429 with Retry-After, counted), and
// a reply that says it is "admin" is shown and audited as the machine and the request's user.
import { describe, expect, it } from 'vitest';
import { auditEntries } from '../../../../helpers/audit';
import { MACHINE_EVENTS_PER_HOUR } from '../../../../../server/db/events';
import { countUp } from '../../../../../server/db/limits';
import { MACHINE_REQUESTS_PER_HOUR } from '../../../../../server/db/requests';
import { useScratchPerTest } from '../../../../helpers/scratch';
import { ENGINES, startTestServer } from '../../../../helpers/server';

const sha = (n: number) => n.toString(16).padStart(64, '0');

const newRequest = (n: number, clientId = String(n)) => ({
  client_request_id: clientId,
  requester: 'ada',
  justification: 'I need this tool for the quarterly release.',
  event: { file_sha256: sha(n), file_name: `tool-${n}`, decision: 'BLOCK_UNKNOWN' },
});

describe.each(ENGINES)('approval request limits on %s', (engine) => {
  const { cleanups } = useScratchPerTest('request-limits');

  async function machineApi() {
    const server = await startTestServer(engine);
    cleanups.push(() => server.close());
    const token = await server.repos.machines.enroll('flooder', { primary_user: 'ada' });
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${server.base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return {
        status: response.status,
        retryAfter: response.headers.get('retry-after'),
        body: (await response.json()) as Record<string, any>, // eslint-disable-line @typescript-eslint/no-explicit-any
      };
    };
    return { server, call };
  }

  it('keeps one open request per file, however many client ids a machine invents', async () => {
    const { server, call } = await machineApi();
    const first = await call('POST', '/api/v1/requests', newRequest(1, 'a'));
    expect(first.status).toBe(201);
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        call('POST', '/api/v1/requests', newRequest(1, `x${i}`)),
      ),
    );
    expect(new Set(answers.map((a) => a.status))).toEqual(new Set([429]));
    expect(answers[0]!.retryAfter).toBe('600');
    expect(answers[0]!.body.error).toBe(
      `request ${first.body.id} for this file is still open on this machine: wait for the helpdesk's answer`,
    );
    expect((await server.repos.requests.listForMachine('flooder')).length).toBe(1);
    // The agent resending its own request still gets it back.
    expect((await call('POST', '/api/v1/requests', newRequest(1, 'a'))).status).toBe(200);
    const metrics = await (await fetch(`${server.base}/metrics`)).text();
    expect(metrics).toMatch(/^gatehouse_limit_hits_total\{limit="machine_requests"\} 30$/m);
  });

  it('refuses more than the hourly number of new requests from one machine, in parallel too', async () => {
    const { server, call } = await machineApi();
    const answers = await Promise.all(
      Array.from({ length: MACHINE_REQUESTS_PER_HOUR + 15 }, (_, i) =>
        call('POST', '/api/v1/requests', newRequest(100 + i)),
      ),
    );
    expect(answers.filter((a) => a.status === 201)).toHaveLength(MACHINE_REQUESTS_PER_HOUR);
    const refused = answers.filter((a) => a.status === 429);
    expect(refused).toHaveLength(15);
    expect(Number(refused[0]!.retryAfter)).toBeGreaterThan(0);
    expect(refused[0]!.body.error).toMatch(
      new RegExp(`^this machine has sent ${MACHINE_REQUESTS_PER_HOUR} requests in the last hour`),
    );
    expect((await server.repos.requests.listForMachine('flooder')).length).toBe(
      MACHINE_REQUESTS_PER_HOUR,
    );
  });

  it("labels a machine's reply with the request's user and audits it as the machine", async () => {
    const { server, call } = await machineApi();
    const { body } = await call('POST', '/api/v1/requests', newRequest(7));
    await server.repos.requests.ask(body.id, { actor: 'grace', question: 'Which project?' });
    const replied = await call('POST', `/api/v1/requests/${body.id}/reply`, {
      requester: 'admin',
      body: 'Approved by admin, go ahead.',
    });
    expect(replied.status).toBe(200);
    expect(replied.body.messages.at(-1)).toMatchObject({ author: 'user', author_name: 'ada' });
    const audit = await auditEntries(server.db, { action: 'request.reply' });
    expect(audit).toHaveLength(1);
    expect(audit[0]!.actor).toBe('machine:flooder');
    expect(audit[0]!.details).toMatchObject({ user: 'ada' });
  });
});

describe.each(ENGINES)('event upload limit on %s', (engine) => {
  const { cleanups } = useScratchPerTest('event-limits');

  it("refuses a machine's upload past its hourly number of events, storing none of it", async () => {
    const server = await startTestServer(engine);
    cleanups.push(() => server.close());
    const token = await server.repos.machines.enroll('chatty', {});
    // The machine has uploaded all but one of its hour's events already.
    await countUp(server.db, 'events:chatty', 3_600_000, MACHINE_EVENTS_PER_HOUR - 1);
    const upload = (n: number) =>
      fetch(`${server.base}/santa/eventupload/chatty`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          events: Array.from({ length: n }, (_, i) => ({
            file_sha256: sha(500 + i),
            file_path: '/tmp',
            file_name: `noise-${i}`,
            execution_time: 1_700_000_000 + i,
            decision: 'ALLOW_UNKNOWN',
          })),
        }),
      });
    const refused = await upload(2);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await refused.json()) as { error: string }).error).toMatch(
      new RegExp(`^this machine has uploaded ${MACHINE_EVENTS_PER_HOUR} events in the last hour`),
    );
    expect(await server.repos.events.count('chatty')).toBe(0);
    const metrics = await (await fetch(`${server.base}/metrics`)).text();
    expect(metrics).toMatch(/^gatehouse_limit_hits_total\{limit="machine_events"\} 1$/m);
  });
});
