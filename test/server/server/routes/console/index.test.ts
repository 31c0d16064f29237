// The console API's guards, on both engines: no route without a session, no change without the
// CSRF token, no decision for a viewer, and a limit on failed logins that parallel guesses do not
// get around.
import { beforeAll, describe, expect, it } from 'vitest';
import { callConsole, logInThroughApi, type CallOptions } from '../../../../helpers/console-api';
import {
  CONSOLE_ACCOUNTS,
  createConsoleAccounts,
  fileRequest,
  type ConsoleRole,
} from '../../../../helpers/console-fixtures';
import { ENGINES, startTestServer } from '../../../../helpers/server';
import { useStarted } from '../../../../helpers/scratch';

describe.each(ENGINES)('console API on %s', (engine) => {
  const server = useStarted(() => startTestServer(engine));
  let requestId: number;

  beforeAll(async () => {
    await createConsoleAccounts(server.repos, 'viewer', 'helpdesk');
    await server.repos.machines.enroll('mac-1', { primary_user: 'ada' });
    requestId = (
      await fileRequest(server.repos, 'mac-1', {
        client_request_id: '1',
        requester: 'ada',
        file_sha256: 'a'.repeat(64),
        file_path: '/x',
        file_name: 'tool',
        justification: 'Needed for the release.',
      })
    ).id;
  });

  const call = (method: string, path: string, options?: CallOptions) =>
    callConsole(server.base, method, path, options);

  /** The reply refuses with this status and error, and the request is still pending. */
  async function expectRefusedAndPending(
    reply: { status: number; body: unknown },
    status: number,
    error: string,
  ) {
    expect(reply).toMatchObject({ status, body: { error } });
    expect((await server.repos.requests.get(requestId))?.state).toBe('pending');
  }

  async function login(role: ConsoleRole) {
    const session = await logInThroughApi(server.base, CONSOLE_ACCOUNTS[role]);
    expect(session.setCookie).toMatch(
      /gh_session=[^;]+; Max-Age=43200; Path=\/console; HttpOnly; SameSite=Strict/,
    );
    return session;
  }

  it.each([
    ['GET', '/console/api/me'],
    ['GET', '/console/api/requests'],
    ['GET', '/console/api/requests/1'],
    ['POST', '/console/api/requests/1/approve'],
    ['POST', '/console/api/requests/1/deny'],
    ['POST', '/console/api/requests/1/ask'],
    ['GET', '/console/api/audit'],
    ['GET', '/console/api/machines'],
    ['POST', '/console/api/rules'],
    ['DELETE', '/console/api/rules/1'],
    ['POST', '/console/api/logout'],
  ])('%s %s needs a session', async (method, path) => {
    expect(
      (await call(method, path, method === 'GET' || method === 'DELETE' ? {} : { body: {} }))
        .status,
    ).toBe(401);
  });

  it('refuses a POST without the CSRF token, even with a session', async () => {
    const grace = await login('helpdesk');
    const reply = await call('POST', `/console/api/requests/${requestId}/ask`, {
      cookie: grace.cookie,
      body: { question: 'why?' },
    });
    await expectRefusedAndPending(reply, 403, 'missing or wrong CSRF token: reload the console');
  });

  it('lets a viewer read but not approve', async () => {
    const vera = await login('viewer');
    expect(
      (await call('GET', '/console/api/requests', { cookie: vera.cookie })).body.requests,
    ).toHaveLength(1);
    const reply = await call('POST', `/console/api/requests/${requestId}/approve`, {
      ...vera,
      body: { scope: 'machine' },
    });
    await expectRefusedAndPending(reply, 403, 'this needs the helpdesk role; you are viewer');
  });

  it('lets the helpdesk approve with the token, and audits it', async () => {
    const grace = await login('helpdesk');
    const detail = await call('GET', `/console/api/requests/${requestId}`, {
      cookie: grace.cookie,
    });
    expect(detail.body).toMatchObject({
      request: { file_name: 'tool', justification: 'Needed for the release.' },
      machine: { primary_user: 'ada' },
    });
    const tooLong = await call('POST', `/console/api/requests/${requestId}/approve`, {
      ...grace,
      body: { scope: 'machine', expires: '1d', message: 'x'.repeat(2001) },
    });
    expect(tooLong).toMatchObject({
      status: 400,
      body: { error: 'message is required (at most 2000 characters)' },
    });
    const reply = await call('POST', `/console/api/requests/${requestId}/approve`, {
      ...grace,
      body: { scope: 'machine', expires: '1d' },
    });
    expect(reply).toMatchObject({ status: 200, body: { state: 'approved', decided_by: 'grace' } });
    const audit = await call('GET', '/console/api/audit?action=request.approve', {
      cookie: grace.cookie,
    });
    expect(audit.body.entries).toEqual([
      expect.objectContaining({ actor: 'grace', target: `request:${requestId}` }),
    ]);
  });

  it('limits failed logins and never says which part was wrong', async () => {
    for (let i = 0; i < 5; i++) {
      expect(
        await call('POST', '/console/api/login', {
          body: { username: 'grace', password: 'wrong' },
        }),
      ).toMatchObject({
        status: 401,
        body: { error: 'wrong username or password' },
      });
    }
    expect(
      (
        await call('POST', '/console/api/login', {
          body: { username: 'grace', password: 'helpdesk-password-1' },
        })
      ).status,
    ).toBe(429);
    expect(
      (
        await call('POST', '/console/api/login', {
          body: { username: 'nobody-here', password: 'x' },
        })
      ).body.error,
    ).toBe('wrong username or password');
  });
});

// Its own server: every guess here counts against 127.0.0.1's budget of 20 failures.
describe.each(ENGINES)('console login limit on %s', (engine) => {
  const server = useStarted(() => startTestServer(engine));
  const call = (method: string, path: string, options?: CallOptions) =>
    callConsole(server.base, method, path, options);

  it('counts each guess before checking it, so parallel guesses get no more than five', async () => {
    await server.repos.users.create('parallel', 'parallel-password-1', 'viewer', 'test');
    const guesses = await Promise.all(
      Array.from({ length: 8 }, () =>
        call('POST', '/console/api/login', { body: { username: 'parallel', password: 'no' } }),
      ),
    );
    const statuses = guesses.map((guess) => guess.status).sort();
    expect(statuses).toEqual([...Array(5).fill(401), ...Array(3).fill(429)]);
  });

  it('gives a successful login its attempt back', async () => {
    await server.repos.users.create('returning', 'returning-password-1', 'viewer', 'test');
    const right = { username: 'returning', password: 'returning-password-1' };
    const wrong = { username: 'returning', password: 'no' };
    for (let i = 0; i < 4; i++)
      expect((await call('POST', '/console/api/login', { body: wrong })).status).toBe(401);
    for (let i = 0; i < 3; i++)
      expect((await call('POST', '/console/api/login', { body: right })).status).toBe(200);
    // The pair starts again from 0 after a success: four more guesses are still answered.
    for (let i = 0; i < 4; i++)
      expect((await call('POST', '/console/api/login', { body: wrong })).status).toBe(401);
  });
});
