// Santa sync conformance over real HTTP on 127.0.0.1: the four stages × (deflate, gzip,
// identity) × (snake_case, lowerCamelCase keys), pagination, clean and incremental syncs,
// authorization, and malformed bodies.
import { gzipSync, deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Repositories } from '../../../../../server/app';
import { tempDir } from '../../../../helpers/files';
import { binaryRule } from '../../../../helpers/rules';
import { ENGINES, startTestServer, type TestServer } from '../../../../helpers/server';

const SECRET = 'enroll-me-please';
const sha = (n: number) => n.toString(16).padStart(64, '0');
type Encoding = 'identity' | 'deflate' | 'gzip';
type Style = 'snake' | 'camel';

const camel = (key: string) =>
  key.replace(/_([a-z])/g, (_m, letter: string) => letter.toUpperCase());
function restyle(value: unknown, style: Style): unknown {
  if (Array.isArray(value)) return value.map((item) => restyle(item, style));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [style === 'camel' ? camel(k) : k, restyle(v, style)]),
    );
  }
  return value;
}

// Every test runs once per engine, as Kysely's own suite does.
describe.each(ENGINES)('Santa sync protocol on %s', (engine) => {
  let server: TestServer;
  let base: string;
  let repos: Repositories;

  beforeAll(async () => {
    server = await startTestServer(engine, { enrollmentSecret: SECRET, pageSize: 2 });
    ({ base, repos } = server);
  }, 60_000);
  afterAll(() => server?.close());

  async function send(
    path: string,
    body: unknown,
    options: {
      token?: string;
      encoding?: Encoding;
      style?: Style;
      raw?: Buffer;
      contentType?: string;
    } = {},
  ) {
    const json = Buffer.from(JSON.stringify(restyle(body, options.style ?? 'snake')));
    const encoding = options.encoding ?? 'identity';
    const payload =
      options.raw ??
      (encoding === 'gzip' ? gzipSync(json) : encoding === 'deflate' ? deflateSync(json) : json);
    const response = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: {
        'content-type': options.contentType ?? 'application/json',
        ...(encoding !== 'identity' ? { 'content-encoding': encoding } : {}),
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      },
      body: new Uint8Array(payload),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : {} };
  }

  async function enroll(machineId: string): Promise<string> {
    const reply = await send('/api/v1/enroll', {
      enrollment_secret: SECRET,
      machine_id: machineId,
      hostname: `${machineId}.example`,
    });
    expect(reply.status).toBe(200);
    return reply.body.token as string;
  }

  /** A whole sync: preflight → eventupload → every ruledownload page → postflight. */
  async function sync(
    machineId: string,
    token: string,
    options: { encoding: Encoding; style: Style; clean?: boolean; events?: unknown[] },
  ) {
    const post = (stage: string, body: unknown) =>
      send(`/santa/${stage}/${machineId}`, body, {
        token,
        encoding: options.encoding,
        style: options.style,
      });
    const preflight = await post('preflight', {
      serial_num: 'C02XYZ',
      hostname: `${machineId}.example`,
      os_version: '12',
      santa_version: '2024.9',
      primary_user: 'ada',
      client_mode: 'LOCKDOWN',
      binary_rule_count: 3,
      request_clean_sync: options.clean ?? false,
      machine_id: machineId,
      rules_hash: 'abc',
    });
    expect(preflight.status).toBe(200);
    if (options.events)
      expect(
        (await post('eventupload', { events: options.events, machine_id: machineId })).status,
      ).toBe(200);
    const rules: { identifier: string; policy: string; rule_type: string }[] = [];
    const pages: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await post('ruledownload', {
        machine_id: machineId,
        ...(cursor ? { cursor } : {}),
      });
      expect(page.status).toBe(200);
      if (page.body.cursor !== undefined) expect(typeof page.body.cursor).toBe('string');
      rules.push(...page.body.rules);
      pages.push(page.body.rules.length);
      cursor = page.body.cursor;
    } while (cursor);
    const postflight = await post('postflight', {
      rules_received: rules.length,
      rules_processed: rules.length,
      machine_id: machineId,
      sync_type: preflight.body.sync_type,
    });
    expect(postflight.status).toBe(200);
    return { preflight: preflight.body, rules, pages };
  }

  const matrix = (['identity', 'deflate', 'gzip'] as const).flatMap((encoding) =>
    (['snake', 'camel'] as const).map((style) => [encoding, style] as const),
  );

  it.each(matrix)(
    '%s bodies with %s keys: clean first sync, paginated, then only what changed',
    async (encoding, style) => {
      const machineId = `m-${encoding}-${style}`;
      const token = await enroll(machineId);
      const ids = await Promise.all(
        [1, 2, 3].map((n) =>
          repos.rules.put({
            identifier: sha(n),
            rule_type: 'BINARY',
            policy: 'ALLOWLIST',
            scope: 'global',
            created_by: 'test',
          }),
        ),
      );
      await repos.rules.put({
        identifier: sha(99),
        rule_type: 'BINARY',
        policy: 'BLOCKLIST',
        scope: 'machine',
        scope_value: 'someone-else',
        created_by: 'test',
      });

      const first = await sync(machineId, token, {
        encoding,
        style,
        events: [
          {
            file_sha256: sha(7),
            file_path: '/usr/bin',
            file_name: 'tool',
            executing_user: 'ada',
            execution_time: 1_700_000_000.5,
            decision: 'BLOCK_UNKNOWN',
            pid: 10,
            ppid: 1,
            current_sessions: ['ada@console'],
          },
        ],
      });
      expect(first.preflight).toMatchObject({
        sync_type: 'CLEAN',
        clean_sync: true,
        batch_size: 50,
      });
      const mine = first.rules.filter((rule) => [sha(1), sha(2), sha(3)].includes(rule.identifier));
      expect(mine).toHaveLength(3);
      expect(first.rules.some((rule) => rule.identifier === sha(99))).toBe(false); // another machine's
      expect(first.pages.every((size) => size <= 2)).toBe(true);
      expect(first.pages.length).toBeGreaterThan(1);

      await repos.rules.remove(ids[0]!);
      await repos.rules.put({
        identifier: sha(4),
        rule_type: 'BINARY',
        policy: 'BLOCKLIST',
        scope: 'machine',
        scope_value: machineId,
        created_by: 'test',
        custom_msg: 'no',
      });
      const second = await sync(machineId, token, { encoding, style });
      expect(second.preflight.sync_type).toBe('NORMAL');
      expect(second.rules).toEqual([
        { identifier: sha(1), rule_type: 'BINARY', policy: 'REMOVE' },
        { identifier: sha(4), rule_type: 'BINARY', policy: 'BLOCKLIST', custom_msg: 'no' },
      ]);
      const third = await sync(machineId, token, { encoding, style });
      expect(third.rules).toEqual([]);
      for (const id of ids.slice(1)) await repos.rules.remove(id!);
    },
  );

  it('gives the full set again when the client asks for a clean sync', async () => {
    const token = await enroll('m-clean');
    const id = await repos.rules.put(binaryRule(sha(50)));
    await sync('m-clean', token, { encoding: 'identity', style: 'snake' });
    const normal = await sync('m-clean', token, { encoding: 'identity', style: 'snake' });
    expect(normal.rules).toEqual([]);
    const clean = await sync('m-clean', token, {
      encoding: 'identity',
      style: 'snake',
      clean: true,
    });
    expect(clean.preflight.sync_type).toBe('CLEAN');
    expect(clean.rules.map((rule) => rule.identifier)).toContain(sha(50));
    expect(clean.rules.every((rule) => rule.policy !== 'REMOVE')).toBe(true);
    await repos.rules.remove(id);
  });

  it('delivers a tag-scoped rule only to machines that carry the tag', async () => {
    const tagged = await send('/api/v1/enroll', {
      enrollment_secret: SECRET,
      machine_id: 'm-tag-1',
      tags: ['build-servers'],
    });
    // A machine's claim is not in force: an admin puts the tag on it.
    await server.app.enrollment.repo.setTags('m-tag-1', ['build-servers'], 'admin');
    const plain = await enroll('m-tag-2');
    const id = await repos.rules.put(
      binaryRule(sha(77), { scope: 'tag', scope_value: 'build-servers' }),
    );
    const withTag = await sync('m-tag-1', tagged.body.token as string, {
      encoding: 'identity',
      style: 'snake',
    });
    const without = await sync('m-tag-2', plain, { encoding: 'identity', style: 'snake' });
    expect(withTag.rules.map((rule) => rule.identifier)).toContain(sha(77));
    expect(without.rules.map((rule) => rule.identifier)).not.toContain(sha(77));
    await repos.rules.remove(id);
    const bad = await send('/api/v1/enroll', {
      enrollment_secret: SECRET,
      machine_id: 'm-tag-3',
      tags: ['has spaces'],
    });
    expect(bad).toEqual({
      status: 400,
      body: {
        error: 'enroll: tags must be a list of at most 50 names (letters, digits and . _ - only)',
      },
    });
  });

  it('removes an expired rule from each machine that had it, at its next sync', async () => {
    const token = await enroll('m-expiry');
    await repos.rules.put({
      identifier: sha(60),
      rule_type: 'BINARY',
      policy: 'ALLOWLIST',
      scope: 'global',
      created_by: 'test',
      expires_at: Date.now() + 200,
    });
    const first = await sync('m-expiry', token, { encoding: 'identity', style: 'snake' });
    expect(first.rules).toContainEqual({
      identifier: sha(60),
      rule_type: 'BINARY',
      policy: 'ALLOWLIST',
    });
    await new Promise((resolve) => setTimeout(resolve, 250));
    const second = await sync('m-expiry', token, { encoding: 'identity', style: 'snake' });
    expect(second.rules).toContainEqual({
      identifier: sha(60),
      rule_type: 'BINARY',
      policy: 'REMOVE',
    });
  });

  it('stores a resubmitted event once, and counts prevalence by machine', async () => {
    const [a, b] = [await enroll('m-ev-a'), await enroll('m-ev-b')];
    const event = {
      file_sha256: sha(70),
      file_path: '/opt',
      file_name: 'x',
      execution_time: 1_700_000_001,
      decision: 'BLOCK_UNKNOWN',
      pid: 5,
    };
    for (let i = 0; i < 3; i++) {
      expect(
        (await send('/santa/eventupload/m-ev-a', { events: [event] }, { token: a })).status,
      ).toBe(200);
    }
    expect(
      (await send('/santa/eventupload/m-ev-b', { events: [event] }, { token: b })).status,
    ).toBe(200);
    expect(await repos.events.count('m-ev-a')).toBe(1);
    expect(await repos.events.prevalence(sha(70))).toBe(2);
    expect(await repos.events.binary(sha(70))).toMatchObject({ file_name: 'x', block_count: 2 });
  });

  it("puts Santa's signer and team ID, and Gatehouse's package and size, in the catalog", async () => {
    const token = await enroll('m-origin');
    const base = {
      file_path: '/usr/bin',
      execution_time: 1_700_000_100,
      decision: 'BLOCK_UNKNOWN',
    };
    const reply = await send(
      '/santa/eventupload/m-origin',
      {
        events: [
          {
            ...base,
            file_sha256: sha(71),
            file_name: 'signed',
            teamId: 'EQHXZ8M8AV',
            signing_id: 'EQHXZ8M8AV:com.example.tool',
            signing_chain: [
              { cn: 'Developer ID Application: Example', org: 'Example Inc', sha256: sha(1) },
              { cn: 'Developer ID Certification Authority', org: 'Apple Inc.' },
            ],
          },
          {
            ...base,
            file_sha256: sha(72),
            file_name: 'packaged',
            package: 'coreutils',
            file_size: 4096,
          },
        ],
      },
      { token },
    );
    expect(reply.status).toBe(200);
    expect(await repos.events.binary(sha(71))).toMatchObject({
      signer: 'Developer ID Application: Example (Example Inc)',
      team_id: 'EQHXZ8M8AV',
      signing_id: 'EQHXZ8M8AV:com.example.tool',
    });
    expect(await repos.events.binary(sha(72))).toMatchObject({
      package: 'coreutils',
      file_size: 4096,
    });
    const bad = await send(
      '/santa/eventupload/m-origin',
      { events: [{ ...base, file_sha256: sha(73), file_name: 'x', signing_chain: 'me' }] },
      { token },
    );
    expect(bad).toEqual({
      status: 400,
      body: { error: 'eventupload: events[0]: signing_chain must be a list of certificates' },
    });
    const huge = await send(
      '/santa/eventupload/m-origin',
      { events: [{ ...base, file_sha256: sha(74), file_name: 'x', file_size: 1e300 }] },
      { token },
    );
    expect(huge).toEqual({
      status: 400,
      body: { error: 'eventupload: events[0]: file_size must be a whole number, 0 or more' },
    });
  });

  describe('authorization', () => {
    it("refuses a missing or unknown token, and one machine's token for another", async () => {
      const a = await enroll('m-auth-a');
      await enroll('m-auth-b');
      expect((await send('/santa/preflight/m-auth-a', {})).status).toBe(401);
      expect((await send('/santa/preflight/m-auth-a', {}, { token: 'nope' })).status).toBe(401);
      // 401 like every other machine route: the caller holds no credential for m-auth-b.
      const stolen = await send('/santa/preflight/m-auth-b', {}, { token: a });
      expect(stolen).toEqual({
        status: 401,
        body: { error: 'this token belongs to another machine' },
      });
    });

    it('enrolls only with the secret', async () => {
      const reply = await send('/api/v1/enroll', { enrollment_secret: 'guess', machine_id: 'm-x' });
      expect(reply).toEqual({ status: 401, body: { error: 'enroll: wrong enrollment secret' } });
    });
  });

  describe('malformed bodies get a 4xx with a reason and store nothing', () => {
    let token: string;
    beforeAll(async () => {
      token = await enroll('m-bad');
    });

    it.each([
      ['bad JSON', { raw: Buffer.from('{"events": [') }, 400, /not valid JSON/],
      [
        'bad compression',
        { raw: Buffer.from('definitely not zlib'), encoding: 'deflate' as const },
        400,
        /could not be decompressed/,
      ],
      [
        'an unknown encoding',
        { raw: Buffer.from('{}'), encoding: 'br' as unknown as Encoding },
        415,
        /not supported/,
      ],
      ['a huge body', { raw: Buffer.alloc(9 * 1024 * 1024, 32) }, 413, /larger than/],
      [
        'a compressed bomb',
        { raw: gzipSync(Buffer.alloc(64 * 1024 * 1024, 32)), encoding: 'gzip' as const },
        413,
        /larger than/,
      ],
    ])('%s', async (_name, options, status, message) => {
      const before = await repos.events.count('m-bad');
      const reply = await send('/santa/eventupload/m-bad', {}, { token, ...options });
      expect(reply.status).toBe(status);
      expect(reply.body.error).toMatch(message);
      expect(await repos.events.count('m-bad')).toBe(before);
    });

    it('wrong types in an otherwise good batch store none of it', async () => {
      const good = {
        file_sha256: sha(80),
        file_path: '/x',
        file_name: 'ok',
        execution_time: 1,
        decision: 'BLOCK_UNKNOWN',
      };
      const reply = await send(
        '/santa/eventupload/m-bad',
        { events: [good, { ...good, file_sha256: 'zz' }] },
        { token },
      );
      expect(reply).toEqual({
        status: 400,
        body: { error: 'eventupload: events[1]: file_sha256 must be a SHA-256 (64 hex digits)' },
      });
      expect(await repos.events.count('m-bad')).toBe(0);
      const badMode = await send('/santa/preflight/m-bad', { client_mode: 'SOMETIMES' }, { token });
      expect(badMode.status).toBe(400);
      expect(
        (await send('/santa/preflight/m-bad', { binary_rule_count: -1 }, { token })).body.error,
      ).toBe('preflight: binary_rule_count must be a non-negative integer');
    });

    it('accepts an empty message sent as application/octet-stream, and unknown keys', async () => {
      const reply = await send(
        '/santa/preflight/m-bad',
        {},
        { token, raw: Buffer.alloc(0), contentType: 'application/octet-stream' },
      );
      expect(reply.status).toBe(200);
      expect(
        (
          await send(
            '/santa/preflight/m-bad',
            { futureField: { nested: true }, sipStatus: 111 },
            { token },
          )
        ).status,
      ).toBe(200);
    });
  });
});

describe('npm run server', () => {
  it('binds to 127.0.0.1 by default and says what is wrong with a bad port', async () => {
    const { startServer } = await import('../../../../../server/server');
    const dir = tempDir('server-boot');
    try {
      await expect(
        startServer({ GATEHOUSE_SERVER_PORT: 'eighty', GATEHOUSE_DATA_DIR: dir.dir }),
      ).rejects.toThrow('server: GATEHOUSE_SERVER_PORT must be a port number, got "eighty"');
      const started = await startServer({
        GATEHOUSE_SERVER_PORT: '0',
        GATEHOUSE_DATA_DIR: dir.dir,
      });
      try {
        expect(started.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        expect(started.generatedSecret).toBe(true);
      } finally {
        await started.app.close();
        await started.db.destroy();
      }
    } finally {
      dir.remove();
    }
  });
});
