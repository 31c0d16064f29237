// File access events: uploaded by a Santa client in eventupload (file_access_events), stored once,
// bounded per machine, and listed per machine in the console API, on both engines.
import { beforeAll, describe, expect, it } from 'vitest';
import { FILE_ACCESS_KEEP } from '../../../../../server/db/file-access';
import { callConsole, type ConsoleSession } from '../../../../helpers/console-api';
import { logInConsoleAccounts } from '../../../../helpers/console-fixtures';
import { ENGINES, startTestServer } from '../../../../helpers/server';
import { useStarted } from '../../../../helpers/scratch';

const SHA = 'ab'.repeat(32);

/** A FileAccessEvent as Santa's JSON printer sends it (json names, enums by name). */
const faa = (n: number, extra: Record<string, unknown> = {}) => ({
  rule_version: 'v7',
  rule_name: 'ChromeCookies',
  target: `/Users/ada/Library/Cookies/${n}`,
  process_chain: [
    { file_path: '/tmp/stealer', file_sha256: SHA, pid: 4242, team_id: 'EQHXZ8M8AV' },
    { file_path: '/bin/zsh', signing_id: 'platform:com.apple.zsh', pid: 1 },
  ],
  access_time: 1_790_000_000 + n,
  decision: 'FILE_ACCESS_DECISION_DENIED',
  ...extra,
});

describe.each(ENGINES)('file access events on %s', (engine) => {
  const server = useStarted(() => startTestServer(engine));
  let token: string;
  let viewer: ConsoleSession;

  beforeAll(async () => {
    ({ viewer } = await logInConsoleAccounts(server, 'viewer'));
    token = await server.repos.machines.enroll('mac-faa', {});
    await server.repos.machines.enroll('mac-other', {});
  });

  const upload = async (body: unknown) => {
    const response = await fetch(`${server.base}/santa/eventupload/mac-faa`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const list = (machine = 'mac-faa', query = '') =>
    callConsole(server.base, 'GET', `/console/api/machines/${machine}/file-access${query}`, viewer);

  it('stores them, once however often a batch is resent, and lists them newest first', async () => {
    const body = { machine_id: 'mac-faa', file_access_events: [faa(1), faa(2)] };
    expect((await upload(body)).status).toBe(200);
    expect((await upload(body)).status).toBe(200);
    // lowerCamelCase keys, and the decision by its enum number, as protobuf's JSON parser allows.
    const camel = {
      fileAccessEvents: [
        {
          ruleName: 'SSHKeys',
          ruleVersion: 'v7',
          target: '/Users/ada/.ssh/id_ed25519',
          processChain: [{ filePath: '/usr/bin/scp', pid: 7 }],
          accessTime: 1_790_000_100,
          decision: 3,
        },
      ],
    };
    expect((await upload(camel)).status).toBe(200);
    const reply = await list();
    expect(reply.status).toBe(200);
    expect(reply.body.total).toBe(3);
    expect(reply.body.events[0]).toMatchObject({
      rule_name: 'SSHKeys',
      decision: 'FILE_ACCESS_DECISION_AUDIT_ONLY',
      process_chain: [{ file_path: '/usr/bin/scp', pid: 7 }],
    });
    expect(reply.body.events[2]).toMatchObject({
      machine_id: 'mac-faa',
      rule_name: 'ChromeCookies',
      target: '/Users/ada/Library/Cookies/1',
      access_time: 1_790_000_001,
      process_chain: [
        { file_path: '/tmp/stealer', file_sha256: SHA, pid: 4242, team_id: 'EQHXZ8M8AV' },
        { file_path: '/bin/zsh', signing_id: 'platform:com.apple.zsh', pid: 1 },
      ],
    });
    expect((await list('mac-other')).body).toEqual({ total: 0, events: [] });
  });

  it(`keeps the newest ${FILE_ACCESS_KEEP} of a machine`, async () => {
    const many = Array.from({ length: FILE_ACCESS_KEEP }, (_, n) => faa(10_000 + n));
    expect((await upload({ file_access_events: many })).status).toBe(200);
    const reply = await list('mac-faa', '?limit=1');
    expect(reply.body.total).toBe(FILE_ACCESS_KEEP);
    expect(reply.body.events[0].target).toBe(
      `/Users/ada/Library/Cookies/${10_000 + FILE_ACCESS_KEEP - 1}`,
    );
  });

  it.each([
    [{ file_access_events: [faa(1, { decision: 'ALLOW' })] }, /decision must be one of/],
    [
      { file_access_events: [faa(1, { process_chain: [{ file_sha256: 'zz' }] })] },
      /process_chain\[0\]: file_sha256 must be a SHA-256/,
    ],
    [{ file_access_events: [faa(1, { access_time: 'noon' })] }, /access_time must be a number/],
    [{ file_access_events: [faa(1, { target: 'x'.repeat(5000) })] }, /target must be a string/],
    [{ file_access_events: {} }, /file_access_events must be a list/],
    [
      { file_access_events: Array.from({ length: 1001 }, (_, n) => faa(n)) },
      /at most 1000 file_access_events/,
    ],
  ])(
    'refuses %#, storing nothing (not even the execution events beside it)',
    async (body, error) => {
      const before = (await list()).body.total;
      const events = await server.repos.events.count('mac-faa');
      const execution = {
        file_sha256: SHA,
        file_path: '/tmp',
        file_name: 'x',
        decision: 'BLOCK_UNKNOWN',
        execution_time: 1_790_000_000,
      };
      const reply = await upload({ events: [execution], ...body });
      expect(reply.status).toBe(400);
      expect(String(reply.body.error)).toMatch(error);
      expect((await list()).body.total).toBe(before);
      expect(await server.repos.events.count('mac-faa')).toBe(events);
    },
  );

  it('answers 404 for a machine that is not enrolled, and 401 without a session', async () => {
    expect((await list('nope')).status).toBe(404);
    expect(
      (await callConsole(server.base, 'GET', '/console/api/machines/mac-faa/file-access')).status,
    ).toBe(401);
  });
});
