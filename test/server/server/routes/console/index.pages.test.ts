// The console API behind the queue filters, request detail, audit log, machines and rules pages,
// on both engines: what each filter finds, what each bad parameter is told, who may change what,
// and that a rule change is audited and pushed to the machines it reaches.
import { beforeAll, describe, expect, it } from 'vitest';
import type { PushMessage } from '../../../../../server/push';
import {
  callConsole,
  type CallOptions,
  type ConsoleSession,
} from '../../../../helpers/console-api';
import {
  enrollAdaAndBob,
  fileAgedRequests,
  logInConsoleAccounts,
} from '../../../../helpers/console-fixtures';
import { ENGINES, startTestServer } from '../../../../helpers/server';
import { useStarted } from '../../../../helpers/scratch';

const HOUR = 3_600_000;
const sha = (c: string) => c.repeat(64);

describe.each(ENGINES)('console pages API on %s', (engine) => {
  const server = useStarted(() => startTestServer(engine));
  let ids: Record<string, number> = {};
  let admin: ConsoleSession;
  let helpdesk: ConsoleSession;
  let viewer: ConsoleSession;

  const call = (method: string, path: string, options?: CallOptions) =>
    callConsole(server.base, method, path, options);

  beforeAll(async () => {
    await enrollAdaAndBob(server.repos, {
      ada: { rule_counts: JSON.stringify({ binary: 3, teamid: 1 }) },
    });
    const now = Date.now();
    ids = await fileAgedRequests(
      server.repos,
      [
        ['m-ada', 'old', 'ada', 'old-tool', sha('a'), 72],
        ['m-ada', 'mid', 'ada', 'mid-tool', sha('b'), 5],
        ['m-bob', 'new', 'bob', 'new-tool', sha('a'), 1],
        ['m-bob', 'gone', 'bob', 'denied-tool', sha('c'), 2],
      ],
      (file) => `please, ${file}`,
      now,
    );
    await server.repos.requests.deny(ids.gone!, { actor: 'grace', message: 'no' });
    await server.repos.requests.ask(ids.mid!, { actor: 'grace', question: 'what for?' });
    await server.repos.events.ingest('m-ada', [
      {
        file_sha256: sha('a'),
        file_path: '/opt/bin/old-tool',
        file_name: 'old-tool',
        executing_user: 'ada',
        execution_time: now / 1000 - 100,
        decision: 'BLOCK_UNKNOWN',
        logged_in_users: ['ada'],
        current_sessions: [],
        signer: 'Developer ID Application: Tools Inc (ABCDE12345)',
        team_id: 'ABCDE12345',
      },
      {
        file_sha256: sha('d'),
        file_path: '/usr/bin/ls',
        file_name: 'ls',
        execution_time: now / 1000 - 50,
        decision: 'ALLOW_BINARY',
        logged_in_users: [],
        current_sessions: [],
        package: 'coreutils 9.1-1',
      },
      {
        file_sha256: sha('e'),
        file_path: '/home/ada/src',
        file_name: 'hello',
        executing_user: 'ada',
        execution_time: now / 1000 - 40,
        decision: 'ALLOW_TRANSITIVE',
        logged_in_users: [],
        current_sessions: [],
      },
    ]);
    await server.repos.events.ingest('m-bob', [
      {
        file_sha256: sha('a'),
        file_path: '/opt/bin/old-tool',
        file_name: 'old-tool',
        execution_time: now / 1000 - 10,
        decision: 'BLOCK_UNKNOWN',
        logged_in_users: [],
        current_sessions: [],
      },
    ]);
    ({ admin, helpdesk, viewer } = await logInConsoleAccounts(
      server,
      'admin',
      'helpdesk',
      'viewer',
    ));
  });

  const names = (body: { requests: { file_name: string }[] }) =>
    body.requests.map((r) => r.file_name);

  it.each([
    ['GET', '/console/api/requests?state=all'],
    ['GET', '/console/api/machines/m-ada'],
    ['GET', '/console/api/rules'],
    ['GET', '/console/api/audit?action=rule'],
  ])('%s %s needs a session', async (method, path) => {
    expect(await call(method, path)).toEqual({ status: 401, body: { error: 'log in first' } });
  });

  describe('request queue', () => {
    it('lists pending requests oldest first by default', async () => {
      const reply = await call('GET', '/console/api/requests', viewer);
      expect(reply.status).toBe(200);
      expect(names(reply.body)).toEqual(['old-tool', 'new-tool']);
      expect(reply.body.total).toBe(2);
      expect(reply.body.requests[0].hostname).toBe('ada-laptop.example');
    });

    it.each([
      ['state=open', ['old-tool', 'mid-tool', 'new-tool']],
      ['state=all', ['old-tool', 'mid-tool', 'denied-tool', 'new-tool']],
      ['state=denied', ['denied-tool']],
      ['state=needs-info', ['mid-tool']],
      ['state=all&older_than=1d', ['old-tool']],
      ['state=all&older_than=90m&newer_than=6h', ['mid-tool', 'denied-tool']],
      ['state=all&machine=BOB-desk', ['denied-tool', 'new-tool']],
      ['state=all&machine=m-ada', ['old-tool', 'mid-tool']],
      ['state=all&user=ad', ['old-tool', 'mid-tool']],
      ['state=all&user=bob&machine=bob&newer_than=90m', ['new-tool']],
      ['state=all&limit=2&offset=1', ['mid-tool', 'denied-tool']],
      ['state=all&user=%25', []],
    ])('filters with %s', async (query, expected) => {
      const reply = await call('GET', `/console/api/requests?${query}`, viewer);
      expect(reply.status).toBe(200);
      expect(names(reply.body)).toEqual(expected);
    });

    it.each([
      [
        'state=closed',
        'state must be one of pending, needs-info, approved, denied, open, all, got "closed"',
      ],
      [
        'older_than=3',
        'older_than must be a number and a unit (m minutes, h hours, d days, w weeks), like 4h or 2d; got "3"',
      ],
      ['limit=0', 'limit must be a whole number from 1 to 500, got "0"'],
      [
        'sort=new',
        'unknown parameter "sort": this endpoint takes state, older_than, newer_than, machine, user, limit, offset',
      ],
      ['state=open&state=all', 'state must be given once'],
    ])('refuses %s with a reason', async (query, error) => {
      expect(await call('GET', `/console/api/requests?${query}`, viewer)).toEqual({
        status: 400,
        body: { error },
      });
    });
  });

  describe('request detail', () => {
    it('shows the signer, prevalence, earlier decisions, rules for the file and the machine', async () => {
      const reply = await call('GET', `/console/api/requests/${ids.new}`, viewer);
      expect(reply.status).toBe(200);
      expect(reply.body.binary).toMatchObject({
        signer: 'Developer ID Application: Tools Inc (ABCDE12345)',
        team_id: 'ABCDE12345',
        package: null,
        block_count: 2,
      });
      expect(reply.body.prevalence).toBe(2);
      expect(reply.body.earlier).toEqual([
        expect.objectContaining({ id: ids.old, state: 'pending', hostname: 'ada-laptop.example' }),
      ]);
      expect(reply.body.machine).toMatchObject({
        machine_id: 'm-bob',
        hostname: 'bob-desktop.example',
        primary_user: 'bob',
      });
      expect(reply.body.machine).not.toHaveProperty('token_hash');

      await server.repos.requests.approve(ids.old!, { scope: 'user', actor: 'grace' });
      const after = await call('GET', `/console/api/requests/${ids.new}`, viewer);
      expect(after.body.earlier).toEqual([
        expect.objectContaining({
          id: ids.old,
          state: 'approved',
          decided_by: 'grace',
          rule_scope: 'user',
          rule_scope_value: 'ada',
        }),
      ]);
      expect(after.body.rules).toEqual([
        expect.objectContaining({ identifier: sha('a'), scope: 'user', scope_value: 'ada' }),
      ]);
    });

    it('keeps what an agent said of a binary when a later event says nothing', async () => {
      await server.repos.events.ingest('m-bob', [
        {
          file_sha256: sha('d'),
          file_path: '/usr/bin/ls',
          file_name: 'ls',
          execution_time: Date.now() / 1000,
          decision: 'ALLOW_BINARY',
          logged_in_users: [],
          current_sessions: [],
        },
      ]);
      expect(await server.repos.events.binary(sha('d'))).toMatchObject({
        package: 'coreutils 9.1-1',
        signer: null,
      });
      // Nor can another machine relabel it afterwards: the first word on each field stands
      // (the package stays; the signer, unsaid until now, takes this word).
      await server.repos.events.ingest('m-bob', [
        {
          file_sha256: sha('d'),
          file_path: '/usr/bin/ls',
          file_name: 'ls',
          execution_time: Date.now() / 1000 + 1,
          decision: 'ALLOW_BINARY',
          logged_in_users: [],
          current_sessions: [],
          package: 'trusted-tools',
          signer: 'Apple Inc.',
        },
      ]);
      expect(await server.repos.events.binary(sha('d'))).toMatchObject({
        package: 'coreutils 9.1-1',
        signer: 'Apple Inc.',
      });
    });

    it('says the binary is not in the catalog when no event was uploaded for it', async () => {
      const reply = await call('GET', `/console/api/requests/${ids.gone}`, viewer);
      expect(reply.body).toMatchObject({ binary: null, prevalence: 0 });
    });
  });

  describe('audit log', () => {
    it('is newest first and filters by action family, actor, target and machine', async () => {
      const all = await call('GET', '/console/api/audit', helpdesk);
      expect(all.status).toBe(200);
      const entries = all.body.entries as { id: number; action: string }[];
      expect(entries.map((e) => e.id)).toEqual([...entries.map((e) => e.id)].sort((a, b) => b - a));

      const requests = await call('GET', '/console/api/audit?action=request', helpdesk);
      expect(new Set(requests.body.entries.map((e: { action: string }) => e.action))).toEqual(
        new Set(['request.create', 'request.deny', 'request.ask', 'request.approve']),
      );
      const denials = await call(
        'GET',
        '/console/api/audit?action=request.deny&actor=GRA',
        helpdesk,
      );
      expect(denials.body.entries).toEqual([
        expect.objectContaining({ actor: 'grace', target: `request:${ids.gone}` }),
      ]);
      const byTarget = await call('GET', `/console/api/audit?target=request:${ids.mid}`, helpdesk);
      expect(byTarget.body.entries.map((e: { action: string }) => e.action)).toEqual([
        'request.ask',
        'request.create',
      ]);
      const bob = await call('GET', '/console/api/audit?machine=m-bob', helpdesk);
      expect(bob.body.entries.map((e: { target: string }) => e.target).sort()).toEqual(
        [`request:${ids.gone}`, `request:${ids.gone}`, `request:${ids.new}`].sort(),
      );
    });

    it('filters by time range and pages with a cursor', async () => {
      const from = Date.now() - 1;
      await call('POST', '/console/api/rules', {
        ...admin,
        body: { identifier: sha('e'), policy: 'BLOCKLIST', comment: 'time range' },
      });
      const ranged = await call(
        'GET',
        `/console/api/audit?from=${from}&to=${new Date(Date.now() + 1000).toISOString()}&action=rule`,
        helpdesk,
      );
      expect(ranged.body.entries).toEqual([
        expect.objectContaining({ action: 'rule.create', actor: 'root' }),
      ]);
      expect(
        (await call('GET', `/console/api/audit?to=${from - 10 * HOUR}`, helpdesk)).body.entries,
      ).toEqual([
        expect.objectContaining({ action: 'request.create', target: `request:${ids.old}` }),
      ]);

      const first = await call('GET', '/console/api/audit?limit=2', helpdesk);
      expect(first.body.entries).toHaveLength(2);
      expect(first.body.next).toBe(first.body.entries[1].id);
      const second = await call(
        'GET',
        `/console/api/audit?limit=2&before=${first.body.next}`,
        helpdesk,
      );
      expect(second.body.entries[0].id).toBeLessThan(first.body.entries[1].id);
      const everything = await call('GET', '/console/api/audit?limit=500', helpdesk);
      expect(everything.body.next).toBeNull();
    });

    it.each([
      [
        'from=yesterday',
        'from must be a time in milliseconds or ISO 8601 (2026-01-31T09:00:00Z), got "yesterday"',
      ],
      ['from=2000&to=1000', 'from must not be after to'],
      [
        'action=rule%25',
        'action must be an action name like rule.create, or a family like rule; got "rule%"',
      ],
      [
        'user=grace',
        'unknown parameter "user": this endpoint takes actor, action, target, machine, from, to, before, limit',
      ],
    ])('refuses %s with a reason', async (query, error) => {
      expect(await call('GET', `/console/api/audit?${query}`, helpdesk)).toEqual({
        status: 400,
        body: { error },
      });
    });

    it('is not for viewers', async () => {
      expect((await call('GET', '/console/api/audit', viewer)).status).toBe(403);
    });
  });

  describe('machines', () => {
    it('lists machines with their facts, and searches them', async () => {
      const all = await call('GET', '/console/api/machines', viewer);
      expect(all.body.total).toBe(2);
      expect(all.body.machines[0]).toMatchObject({
        machine_id: 'm-ada',
        hostname: 'ada-laptop.example',
        primary_user: 'ada',
        client_mode: 'LOCKDOWN',
        agent_version: '0.1.0',
        rule_counts: { binary: 3, teamid: 1 },
        rule_total: 4,
        tags: ['engineering'],
      });
      expect(all.body.machines[0]).not.toHaveProperty('token_hash');
      for (const [q, expected] of [
        ['BOB', ['m-bob']],
        ['engineer', ['m-ada']],
        ['example', ['m-ada', 'm-bob']],
        ['nowhere', []],
      ] as const) {
        const found = await call('GET', `/console/api/machines?q=${q}`, viewer);
        expect(found.body.machines.map((m: { machine_id: string }) => m.machine_id)).toEqual(
          expected,
        );
      }
      expect((await call('GET', '/console/api/machines?search=x', viewer)).status).toBe(400);
    });

    it('shows one machine with the rules that reach it, its blocks and its requests', async () => {
      await server.repos.rules.put({
        identifier: sha('1'),
        rule_type: 'BINARY',
        policy: 'BLOCKLIST',
        scope: 'tag',
        scope_value: 'engineering',
        created_by: 't',
      });
      await server.repos.rules.put({
        identifier: sha('2'),
        rule_type: 'BINARY',
        policy: 'BLOCKLIST',
        scope: 'machine',
        scope_value: 'm-bob',
        created_by: 't',
      });
      const reply = await call('GET', '/console/api/machines/m-ada', viewer);
      expect(reply.status).toBe(200);
      const identifiers = reply.body.rules.map((r: { identifier: string }) => r.identifier);
      expect(identifiers).toContain(sha('1'));
      expect(identifiers).toContain(sha('a')); // ada's user rule from the approval
      expect(identifiers).not.toContain(sha('2'));
      expect(reply.body.blocks).toEqual([
        expect.objectContaining({ file_name: 'old-tool', decision: 'BLOCK_UNKNOWN' }),
      ]);
      expect(reply.body.built).toEqual([
        expect.objectContaining({ file_name: 'hello', decision: 'ALLOW_TRANSITIVE' }),
      ]);
      expect(reply.body.requests.map((r: { file_name: string }) => r.file_name)).toEqual([
        'mid-tool',
        'old-tool',
      ]);
      expect((await call('GET', '/console/api/machines/nope', viewer)).status).toBe(404);
    });
  });

  describe('rules', () => {
    /** What is pushed to m-ada, ada's machine, until stop. */
    function listenAsAda(): { heard: PushMessage[]; stop(): void } {
      const heard: PushMessage[] = [];
      const stop = server.repos.push.subscribe({
        machineId: 'm-ada',
        primaryUser: 'ada',
        tags: [],
        send: (message) => heard.push(message),
      });
      return { heard, stop };
    }

    it('lets an admin create a rule: stored, audited, pushed to the machine it reaches', async () => {
      const ada = listenAsAda();
      const expires = Date.now() + 2 * HOUR;
      const reply = await call('POST', '/console/api/rules', {
        ...admin,
        body: {
          rule_type: 'TEAMID',
          identifier: 'abcde12345',
          policy: 'BLOCKLIST',
          scope: 'machine',
          scope_value: 'm-ada',
          expires,
          custom_msg: 'Not on this laptop',
          comment: 'ticket 42',
        },
      });
      ada.stop();
      expect(reply).toMatchObject({
        status: 200,
        body: {
          identifier: 'ABCDE12345',
          rule_type: 'TEAMID',
          scope: 'machine',
          scope_value: 'm-ada',
          expires_at: expires,
          custom_msg: 'Not on this laptop',
          comment: 'ticket 42',
          created_by: 'root',
        },
      });
      expect(ada.heard).toEqual([{ kind: 'rules-changed', target: { machines: ['m-ada'] } }]);
      const audit = await call('GET', `/console/api/audit?target=rule:${reply.body.id}`, helpdesk);
      expect(audit.body.entries).toEqual([
        expect.objectContaining({
          actor: 'root',
          action: 'rule.create',
          details: expect.objectContaining({
            identifier: 'ABCDE12345',
            scope_value: 'm-ada',
            comment: 'ticket 42',
          }),
        }),
      ]);
      const machineAudit = await call(
        'GET',
        '/console/api/audit?machine=m-ada&action=rule',
        helpdesk,
      );
      expect(machineAudit.body.entries.map((e: { target: string }) => e.target)).toContain(
        `rule:${reply.body.id}`,
      );
    });

    it('lists rules in force with filters', async () => {
      const list = async (query: string) =>
        (await call('GET', `/console/api/rules?${query}`, viewer)).body.rules.map(
          (r: { identifier: string }) => r.identifier,
        );
      expect(await list('type=TEAMID')).toEqual(['ABCDE12345']);
      expect(await list('scope=tag')).toEqual([sha('1')]);
      expect(await list('scope=machine&target=m-bob')).toEqual([sha('2')]);
      expect(await list('policy=ALLOWLIST')).toEqual([sha('a')]);
      expect(await list(`q=${sha('e').slice(0, 10).toUpperCase()}`)).toEqual([sha('e')]);
      expect(await list('q=ticket')).toEqual(['ABCDE12345']);
      expect((await call('GET', '/console/api/rules?policy=ALLOW', viewer)).body.error).toBe(
        'policy must be one of ALLOWLIST, ALLOWLIST_COMPILER, BLOCKLIST, SILENT_BLOCKLIST, CEL, SILENT_GUI_BLOCKLIST, SILENT_TTY_BLOCKLIST, got "ALLOW"',
      );
    });

    it.each([
      [
        { identifier: 'abc', policy: 'BLOCKLIST' },
        "a BINARY rule's identifier is the file's SHA-256 (64 hex digits)",
      ],
      [
        { rule_type: 'SIGNINGID', identifier: 'com.example.tool', policy: 'BLOCKLIST' },
        "a SIGNINGID rule's identifier is TEAMID:signing.id or platform:signing.id",
      ],
      [
        { rule_type: 'TEAMID', identifier: 'ABCDE12345', policy: 'ALLOWLIST_COMPILER' },
        'ALLOWLIST_COMPILER applies to BINARY, CDHASH, SIGNINGID rules only',
      ],
      [
        { rule_type: 'PATH', identifier: '/bin', policy: 'BLOCKLIST' },
        'rule_type must be one of CDHASH, BINARY, SIGNINGID, CERTIFICATE, TEAMID',
      ],
      [
        { identifier: sha('f'), policy: 'ALLOW' },
        'policy must be one of ALLOWLIST, ALLOWLIST_COMPILER, BLOCKLIST, SILENT_BLOCKLIST, CEL, SILENT_GUI_BLOCKLIST, SILENT_TTY_BLOCKLIST',
      ],
      [
        { identifier: sha('f'), policy: 'ALLOWLIST', scope: 'machine', scope_value: 'm-zed' },
        'no machine "m-zed" is enrolled',
      ],
      [
        { identifier: sha('f'), policy: 'ALLOWLIST', scope: 'user' },
        'scope_value (the primary user) is required (at most 256 characters)',
      ],
      [
        { identifier: sha('f'), policy: 'ALLOWLIST', scope: 'tag', scope_value: 'a tag' },
        'scope_value (the tag) has letters, digits and . _ - only',
      ],
      [
        { identifier: sha('f'), policy: 'ALLOWLIST', scope: 'global', scope_value: 'x' },
        'a global rule has no scope_value',
      ],
      [
        { identifier: sha('f'), policy: 'ALLOWLIST', expires: 1000 },
        'expires must be none, 1h, 1d, 1w or a future time in milliseconds',
      ],
      [
        { identifier: sha('f'), policy: 'ALLOWLIST', custom_url: 'javascript:alert(1)' },
        'custom_url must be an http:// or https:// address',
      ],
    ])('refuses %j with a reason', async (body, error) => {
      const reply = await call('POST', '/console/api/rules', { ...admin, body });
      expect(reply).toEqual({ status: 400, body: { error } });
      expect(
        (await server.repos.rules.list({ identifier: sha('f') }, { limit: 1, offset: 0 })).total,
      ).toBe(0);
    });

    it('keeps rule changes from the helpdesk and from calls without the CSRF token', async () => {
      const body = { identifier: sha('f'), policy: 'BLOCKLIST' };
      expect(await call('POST', '/console/api/rules', { ...helpdesk, body })).toEqual({
        status: 403,
        body: { error: 'this needs the admin role; you are helpdesk' },
      });
      expect(
        (await call('POST', '/console/api/rules', { cookie: admin.cookie, body })).status,
      ).toBe(403);
      const [rule] = (
        await server.repos.rules.list({ ruleType: 'TEAMID' }, { limit: 1, offset: 0 })
      ).rows;
      expect((await call('DELETE', `/console/api/rules/${rule!.id}`, helpdesk)).status).toBe(403);
      expect(
        (await call('DELETE', `/console/api/rules/${rule!.id}`, { cookie: admin.cookie })).status,
      ).toBe(403);
      expect(await server.repos.rules.get(rule!.id)).toMatchObject({ deleted: 0 });
    });

    it('lets an admin remove a rule: audited, pushed, gone from the list', async () => {
      const [rule] = (
        await server.repos.rules.list({ ruleType: 'TEAMID' }, { limit: 1, offset: 0 })
      ).rows;
      const ada = listenAsAda();
      expect(await call('DELETE', `/console/api/rules/${rule!.id}`, admin)).toEqual({
        status: 200,
        body: { removed: true },
      });
      ada.stop();
      expect(ada.heard).toEqual([{ kind: 'rules-changed', target: { machines: ['m-ada'] } }]);
      expect((await call('GET', '/console/api/rules?type=TEAMID', viewer)).body.rules).toEqual([]);
      const audit = await call(
        'GET',
        `/console/api/audit?target=rule:${rule!.id}&action=rule.remove`,
        helpdesk,
      );
      expect(audit.body.entries).toEqual([
        expect.objectContaining({
          actor: 'root',
          details: expect.objectContaining({ identifier: 'ABCDE12345' }),
        }),
      ]);
      expect(await call('DELETE', `/console/api/rules/${rule!.id}`, admin)).toEqual({
        status: 404,
        body: { error: `no rule ${rule!.id} in force` },
      });
    });
  });
});
