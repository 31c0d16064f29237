// The employee portal's API against a real OpenID Provider: a person sees and requests only
// blocks of their own (as the event's user or the machine's primary user), joins an open request
// instead of filing a second, answers the helpdesk in place; hostile links get a clear refusal
// that carries nobody's data; every action is audited with the provider's subject.
import { beforeAll, describe, expect, it } from 'vitest';
import { auditEntries } from '../../../../helpers/audit';
import { callConsole, type ConsoleSession } from '../../../../helpers/console-api';
import { ssoSession, startSsoStack } from '../../../../helpers/oidc-provider';
import { useStarted } from '../../../../helpers/scratch';
import { ENGINES } from '../../../../helpers/server';

const SHA = 'c'.repeat(64);
const OTHER_SHA = 'd'.repeat(64);
const BLOCKED_AT = Date.UTC(2026, 10, 30, 9, 15);

describe.each(ENGINES)('portal API on %s', (engine) => {
  const stack = useStarted(() => startSsoStack(engine));
  let ada: ConsoleSession;
  let bob: ConsoleSession;

  const call = (who: ConsoleSession | undefined, method: string, path: string, body?: unknown) =>
    callConsole(stack.base, method, path, { cookie: who?.cookie, csrf: who?.csrf, body });
  /** Asks for approval of the blocked file on `machine`. */
  const requestApproval = (who: ConsoleSession, machine: string, justification: string) =>
    call(who, 'POST', '/portal/api/requests', { sha: SHA, machine, justification });
  const blocked = (who: ConsoleSession | undefined, sha: string, machine: string) =>
    call(
      who,
      'GET',
      `/portal/api/blocked?sha=${encodeURIComponent(sha)}&machine=${encodeURIComponent(machine)}`,
    );

  beforeAll(async () => {
    const { repos } = stack.server;
    await repos.machines.enroll('mac-ada', { primary_user: 'ada', hostname: 'ada-mbp' });
    await repos.machines.enroll('mac-bob', { primary_user: 'bob', hostname: 'bob-mbp' });
    const event = {
      file_sha256: SHA,
      file_path: '/Applications/Tool.app/Contents/MacOS/Tool',
      file_name: 'Tool',
      execution_time: BLOCKED_AT / 1000,
      decision: 'BLOCK_UNKNOWN',
      logged_in_users: [],
      current_sessions: [],
      team_id: 'EQHXZ8M8AV',
      signer: 'Developer ID Application: Tool Makers (EQHXZ8M8AV)',
    };
    await repos.events.ingest('mac-ada', [{ ...event, executing_user: 'ada' }]);
    await repos.events.ingest('mac-bob', [{ ...event, executing_user: 'bob' }]);
    ada = await ssoSession(stack.base, 'portal', 'sub-ada');
    bob = await ssoSession(stack.base, 'portal', 'sub-bob');
  }, 60_000);

  it('shows a person their block as the machine reported it', async () => {
    const answer = await blocked(ada, SHA, 'mac-ada');
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      machine: { id: 'mac-ada', hostname: 'ada-mbp' },
      program: { name: 'Tool', sha256: SHA, team_id: 'EQHXZ8M8AV' },
      user: 'ada',
      decision: 'BLOCK_UNKNOWN',
      blocked_at: BLOCKED_AT,
      allowed: false,
      request: null,
    });
  });

  it('refuses another person’s machine, an unknown file and hostile values, with no one’s data', async () => {
    for (const [sha, machine, status] of [
      [SHA, 'mac-bob', 404],
      [OTHER_SHA, 'mac-ada', 404],
      [SHA, 'no-such-machine', 404],
      [SHA, '<script>alert(1)</script>', 404],
      ['%file_sha%', 'mac-ada', 400],
      ['not-a-sha', 'mac-ada', 400],
      [SHA, '%machine_id%', 400],
      [SHA.toUpperCase(), 'mac-bob', 404],
      [SHA, 'mac-ada/../mac-bob', 404],
      [SHA, "mac-ada' OR '1'='1", 404],
      [SHA, 'm'.repeat(257), 400],
      [`${SHA}&machine=mac-bob`, 'mac-ada', 400],
    ] as const) {
      const answer = await blocked(ada, sha, machine);
      expect(answer.status).toBe(status);
      expect(Object.keys(answer.body)).toEqual(['error']);
      expect(answer.body.error).not.toContain('bob');
      expect(answer.body.error).not.toContain('<script>');
    }
    expect((await blocked(undefined, SHA, 'mac-ada')).status).toBe(401);
  });

  it('files a request, and a second one for the same file joins the first', async () => {
    const justification = 'I need Tool to build the release.';
    const first = await requestApproval(ada, 'mac-ada', justification);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      joined: false,
      request: { state: 'pending', justification },
    });
    const second = await requestApproval(ada, 'mac-ada', 'Still need it, please.');
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ joined: true, request: { id: first.body.request.id } });
    const audit = await auditEntries(stack.server.db, { actor: 'sso:sub-ada' });
    expect(audit.map((entry) => entry.action)).toEqual(
      expect.arrayContaining(['login', 'portal.view', 'request.create', 'portal.request.join']),
    );
  });

  it('refuses a request for someone else’s block, a short justification and a missing CSRF token', async () => {
    const justification = 'I need Tool to build the release.';
    const others = await requestApproval(ada, 'mac-bob', justification);
    expect(others.status).toBe(404);
    const short = await requestApproval(ada, 'mac-ada', '  short  ');
    expect(short.status).toBe(400);
    const noCsrf = await requestApproval({ ...ada, csrf: '' }, 'mac-ada', justification);
    expect(noCsrf.status).toBe(403);
  });

  it('shows each person only their requests, and lets only them answer the helpdesk', async () => {
    const mine = await call(ada, 'GET', '/portal/api/requests');
    expect(mine.body.requests).toHaveLength(1);
    const id = mine.body.requests[0].id as number;
    expect((await call(bob, 'GET', '/portal/api/requests')).body.requests).toEqual([]);
    await stack.server.repos.requests.ask(id, {
      actor: 'hal',
      question: 'Which project is it for?',
    });
    const bobAnswers = await call(bob, 'POST', `/portal/api/requests/${id}/reply`, {
      body: 'mine now',
    });
    expect(bobAnswers.status).toBe(404);
    const answered = await call(ada, 'POST', `/portal/api/requests/${id}/reply`, {
      body: 'The Q4 release.',
    });
    expect(answered.status).toBe(200);
    expect(answered.body.state).toBe('pending');
    expect(answered.body.messages.map((m: { body: string }) => m.body)).toEqual([
      'Which project is it for?',
      'The Q4 release.',
    ]);
  });

  it('says when the program is already allowed, and the approval’s rule names the app for Santa', async () => {
    const [request] = (await call(ada, 'GET', '/portal/api/requests')).body.requests;
    await stack.server.repos.requests.approve(request.id, { scope: 'machine', actor: 'hal' });
    const page = await blocked(ada, SHA, 'mac-ada');
    expect(page.body).toMatchObject({
      allowed: true,
      request: { id: request.id, state: 'approved' },
    });
    const again = await requestApproval(ada, 'mac-ada', 'Once more, please.');
    expect(again.status).toBe(409);
    expect(again.body.error).toContain('already allowed');
    const rule = await stack.server.db
      .selectFrom('rules')
      .select('notification_app_name')
      .where('identifier', '=', SHA)
      .executeTakeFirstOrThrow();
    expect(rule.notification_app_name).toBe('Tool');
  });
});
