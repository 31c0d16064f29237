// Stock Santa clients against the backend, over real HTTP, on SQLite and PostgreSQL: every sync
// is played by test/helpers/santa-client.ts, which speaks as northpolesec/santa's sync service
// does (protobuf's JSON mapping or binary, each compression) and holds rules as Santa's rule table
// does. What the client ends up holding and running with is what is asserted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewRule } from '../../server/db/rules';
import { auditedActions } from '../helpers/audit';
import type { SettingValues } from '../../server/schemas/settings';
import {
  SantaClient,
  type SantaClientOptions,
  type SantaCompression,
  type SantaMessage,
  type SantaTransfer,
} from '../helpers/santa-client';
import { ENGINES, startTestServer, type TestServer } from '../helpers/server';

const SECRET = 'conformance-fleet-secret';
const PAGE_SIZE = 3;
const BATCH_SIZE = 2;
const DETAIL_URL = 'https://gatehouse.example/events/%file_sha256%';
const sha = (n: number) => n.toString(16).padStart(64, '0');
/** What the client holds, by identifier. */
const identifiers = (client: SantaClient) => client.rules.map((rule) => rule.identifier);

const TRANSFERS: readonly SantaTransfer[] = ['json', 'binary'];
const COMPRESSIONS: readonly SantaCompression[] = ['none', 'deflate', 'gzip'];
const MATRIX = TRANSFERS.flatMap((transfer) =>
  COMPRESSIONS.map((compression) => [transfer, compression] as const),
);

describe.each(ENGINES)('a stock Santa client syncing on %s', (engine) => {
  let server: TestServer;
  let machines = 0;

  beforeAll(async () => {
    server = await startTestServer(engine, {
      enrollmentSecret: SECRET,
      pageSize: PAGE_SIZE,
      batchSize: BATCH_SIZE,
      eventDetailUrl: DETAIL_URL,
      // Every case enrolls its own machines from 127.0.0.1: more than the default per minute.
      enrollLimits: { perAddress: 1000, inAll: 1000, windowMs: 60_000 },
    });
  }, 60_000);
  afterAll(() => server?.close());

  /** A machine enrolled with the fleet secret, and a client holding its token. */
  async function enrolledClient(options: Partial<SantaClientOptions> = {}): Promise<SantaClient> {
    const machineId = `conformance-${engine}-${++machines}`;
    const response = await fetch(`${server.base}/api/v1/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ enrollment_secret: SECRET, machine_id: machineId }),
    });
    expect(response.status).toBe(200);
    const { token } = (await response.json()) as { token: string };
    return new SantaClient({
      syncBaseURL: `${server.base}/santa/`,
      machineId,
      headers: { Authorization: `Bearer ${token}` },
      ...options,
    });
  }

  const put = (rule: Omit<NewRule, 'created_by'>) =>
    server.repos.rules.put({ created_by: 'conformance', ...rule } as NewRule);
  /** A BINARY rule for one machine. */
  const binaryFor = (
    machineId: string,
    identifier: string,
    policy = 'ALLOWLIST',
    more: Partial<NewRule> = {},
  ) =>
    put({
      identifier,
      rule_type: 'BINARY',
      policy,
      scope: 'machine',
      scope_value: machineId,
      ...more,
    });

  /** A client enrolled over `transfer` whose machine has one rule: the binary `identifier` allowed. */
  async function clientAllowing(transfer: SantaTransfer, identifier: string) {
    const client = await enrolledClient({ transfer });
    await binaryFor(client.options.machineId, identifier);
    return client;
  }

  it.each(MATRIX)(
    '%s transfer with %s bodies: a clean first sync over several pages, then only what changed',
    async (transfer, compression) => {
      const client = await enrolledClient({ transfer, compression });
      const machineId = client.options.machineId;
      const base = 1000 * (MATRIX.findIndex(([t, c]) => t === transfer && c === compression) + 1);
      const ids: number[] = [];
      for (let n = 1; n <= 7; n++) ids.push(await binaryFor(machineId, sha(base + n)));
      await put({
        identifier: 'EQHXZ8M8AV',
        rule_type: 'TEAMID',
        policy: 'BLOCKLIST',
        scope: 'machine',
        scope_value: machineId,
        custom_msg: 'Not on this fleet',
        custom_url: 'https://gatehouse.example/why',
      });

      const first = await client.sync();
      expect(first.syncType).toBe('CLEAN');
      expect(first.pages.length).toBeGreaterThan(2);
      expect(first.pages.every((size) => size <= PAGE_SIZE)).toBe(true);
      // Every rule in this file is scoped to its machine: the client holds exactly its own.
      expect(identifiers(client).sort()).toEqual(
        [...[1, 2, 3, 4, 5, 6, 7].map((n) => sha(base + n)), 'EQHXZ8M8AV'].sort(),
      );
      expect(client.rule('EQHXZ8M8AV', 'TEAMID')).toEqual({
        identifier: 'EQHXZ8M8AV',
        rule_type: 'TEAMID',
        policy: 'BLOCKLIST',
        custom_msg: 'Not on this fleet',
        custom_url: 'https://gatehouse.example/why',
      });

      await server.repos.rules.remove(ids[0]!);
      await binaryFor(machineId, sha(base + 1), 'BLOCKLIST', {
        custom_msg: 'Blocked after review',
      });
      await put({
        identifier: 'EQHXZ8M8AV',
        rule_type: 'TEAMID',
        policy: 'ALLOWLIST',
        scope: 'machine',
        scope_value: machineId,
      });
      const second = await client.sync();
      expect(second.syncType).toBe('NORMAL');
      expect(client.rule(sha(base + 1))).toEqual({
        identifier: sha(base + 1),
        rule_type: 'BINARY',
        policy: 'BLOCKLIST',
        custom_msg: 'Blocked after review',
      });
      // A new rule for the same key replaces every field: the old message and URL are gone.
      expect(client.rule('EQHXZ8M8AV', 'TEAMID')).toEqual({
        identifier: 'EQHXZ8M8AV',
        rule_type: 'TEAMID',
        policy: 'ALLOWLIST',
      });
      const third = await client.sync();
      expect(third.received).toEqual([]);
      const machine = await server.repos.machines.get(machineId);
      expect(Number(machine?.last_sync_at)).toBeGreaterThan(0);
      expect(machine?.sync_version).toBeNull();
    },
  );

  it.each(TRANSFERS)(
    '%s transfer: preflight settings reach the client, and its facts reach the console',
    async (transfer) => {
      const client = await enrolledClient({
        transfer,
        facts: {
          serial_number: 'C02CONFORM',
          hostname: 'ada-mbp.example',
          os_version: '15.5',
          os_build: '24F74',
          model_identifier: 'Mac15,7',
          santa_version: '2026.1.1',
          primary_user: 'ada',
          client_mode: 'LOCKDOWN',
          rules_hash: 'hash-before',
        },
      });
      await client.sync();
      expect(client.preflight).toMatchObject({
        batch_size: BATCH_SIZE,
        full_sync_interval_seconds: 600,
        event_detail_url: DETAIL_URL,
      });
      expect(await server.repos.machines.get(client.options.machineId)).toMatchObject({
        serial_num: 'C02CONFORM',
        hostname: 'ada-mbp.example',
        os_version: '15.5',
        os_build: '24F74',
        model_identifier: 'Mac15,7',
        agent_version: '2026.1.1',
        primary_user: 'ada',
        client_mode: 'LOCKDOWN',
      });
    },
  );

  it.each(TRANSFERS)(
    '%s transfer: a clean sync drops what the server no longer sends; CLEAN keeps transitive rules, CLEAN_ALL does not',
    async (transfer) => {
      const client = await clientAllowing(transfer, sha(500));
      await client.sync();
      client.addTransitiveRule(sha(501));
      // A rule the server never sent (a stale database): only a clean sync removes it.
      client.held.set('stale', { identifier: sha(502), rule_type: 'BINARY', policy: 'BLOCKLIST' });

      const normal = await client.sync();
      expect(normal.syncType).toBe('NORMAL');
      expect(identifiers(client)).toContain(sha(502));

      const clean = await client.sync({ clean: 'CLEAN' });
      expect(clean.syncType).toBe('CLEAN');
      const afterClean = identifiers(client);
      expect(afterClean).toContain(sha(500));
      expect(afterClean).toContain(sha(501));
      expect(afterClean).not.toContain(sha(502));

      const cleanAll = await client.sync({ clean: 'CLEAN_ALL' });
      expect(cleanAll.syncType).toBe('CLEAN_ALL');
      expect(identifiers(client)).not.toContain(sha(501));
      expect(client.rule(sha(500))?.policy).toBe('ALLOWLIST');
      expect((await client.sync()).syncType).toBe('NORMAL');
    },
  );

  it.each(MATRIX)(
    '%s transfer with %s bodies: events upload in batches with every field the server keeps',
    async (transfer, compression) => {
      const client = await enrolledClient({ transfer, compression });
      const machineId = client.options.machineId;
      const events: SantaMessage[] = [1, 2, 3, 4, 5].map((n) => ({
        file_sha256: sha(9000 + n),
        file_path: '/Applications/Tool.app/Contents/MacOS',
        file_name: `tool-${n}`,
        executing_user: 'ada',
        execution_time: 1_767_000_000.25 + n,
        logged_in_users: ['ada', 'root'],
        current_sessions: ['ada@console', 'ada@ttys001'],
        decision: n === 5 ? 'ALLOW_UNKNOWN' : 'BLOCK_UNKNOWN',
        pid: 4000 + n,
        ppid: 1,
        parent_name: 'launchd',
        team_id: 'EQHXZ8M8AV',
        signing_id: 'EQHXZ8M8AV:com.example.tool',
        cdhash: 'a'.repeat(40),
        signing_chain: [
          { sha256: sha(1), cn: 'Developer ID Application: Example', org: 'Example Inc' },
          { sha256: sha(2), cn: 'Developer ID Certification Authority', org: 'Apple Inc.' },
        ],
        entitlement_info: {
          entitlements_filtered: false,
          entitlements: [{ key: 'k', value: 'v' }],
        },
        cs_flags: 570_522_385,
        signing_status: 'SIGNING_STATUS_PRODUCTION',
      }));
      const report = await client.sync({ events });
      expect(report.eventBatches).toEqual([BATCH_SIZE, BATCH_SIZE, 1]);
      expect(report.bundleBinaries).toEqual([]);
      const stored = await server.db
        .selectFrom('events')
        .selectAll()
        .where('machine_id', '=', machineId)
        .orderBy('file_sha256')
        .execute();
      expect(stored).toHaveLength(5);
      for (const [index, row] of stored.entries()) {
        const n = index + 1;
        expect({
          ...row,
          execution_time: Number(row.execution_time),
          pid: Number(row.pid),
          ppid: Number(row.ppid),
          logged_in_users: JSON.parse(String(row.logged_in_users)) as unknown,
          current_sessions: JSON.parse(String(row.current_sessions)) as unknown,
        }).toMatchObject({
          file_sha256: sha(9000 + n),
          file_path: '/Applications/Tool.app/Contents/MacOS',
          file_name: `tool-${n}`,
          executing_user: 'ada',
          execution_time: 1_767_000_000.25 + n,
          decision: n === 5 ? 'ALLOW_UNKNOWN' : 'BLOCK_UNKNOWN',
          pid: 4000 + n,
          ppid: 1,
          parent_name: 'launchd',
          logged_in_users: ['ada', 'root'],
          current_sessions: ['ada@console', 'ada@ttys001'],
        });
      }
      expect(await server.repos.events.binary(sha(9001))).toMatchObject({
        signer: 'Developer ID Application: Example (Example Inc)',
        team_id: 'EQHXZ8M8AV',
        signing_id: 'EQHXZ8M8AV:com.example.tool',
      });
    },
  );

  it.each(MATRIX)(
    '%s transfer with %s bodies: file access events are kept with their process chain',
    async (transfer, compression) => {
      const client = await enrolledClient({ transfer, compression });
      await client.sync();
      const accessEvent = {
        rule_version: 'v3',
        rule_name: 'ChromeCookies',
        target: '/Users/ada/Library/Application Support/Google/Chrome/Default/Cookies',
        access_time: 1_767_000_123.5,
        decision: 'FILE_ACCESS_DECISION_DENIED',
        process_chain: [
          {
            file_path: '/tmp/stealer',
            file_sha256: sha(950),
            signing_id: 'EQHXZ8M8AV:com.example.stealer',
            team_id: 'EQHXZ8M8AV',
            cdhash: 'b'.repeat(40),
            pid: 4242,
          },
          { file_path: '/bin/zsh', pid: 4000 },
        ],
      };
      await client.post('eventupload', { file_access_events: [accessEvent] });
      const { events } = await server.repos.fileAccess.list(client.options.machineId, {
        limit: 10,
        offset: 0,
      });
      expect(events).toMatchObject([accessEvent]);
    },
  );

  const profile = (machineId: string, values: SettingValues) =>
    server.repos.settings.put(
      { scope: 'machine', value: machineId, priority: 0, values },
      'conformance',
    );

  it.each(TRANSFERS)(
    '%s transfer: client_mode from a settings profile moves the client, after postflight',
    async (transfer) => {
      const client = await enrolledClient({ transfer, facts: { client_mode: 'MONITOR' } });
      await client.sync();
      expect(client.clientMode).toBe('MONITOR');
      await profile(client.options.machineId, { client_mode: 'LOCKDOWN' });
      await client.sync();
      expect(client.preflight.client_mode).toBe('LOCKDOWN');
      expect(client.clientMode).toBe('LOCKDOWN');
      await client.sync(); // the next preflight reports the mode the client now runs in
      expect((await server.repos.machines.get(client.options.machineId))?.client_mode).toBe(
        'LOCKDOWN',
      );
      await profile(client.options.machineId, { client_mode: 'MONITOR' });
      await client.sync();
      expect(client.clientMode).toBe('MONITOR');
    },
  );

  it.each(TRANSFERS)(
    '%s transfer: every setting of a profile reaches the client, false included',
    async (transfer) => {
      const client = await enrolledClient({ transfer });
      const settings = {
        event_detail_url: 'https://gatehouse.example/e/%machine_id%',
        event_detail_text: 'Ask for it',
        batch_size: 7,
        full_sync_interval: 900,
        allowed_path_regex: '^/opt/allowed/',
        blocked_path_regex: '^/tmp/',
        enable_transitive_rules: true,
        enable_bundles: true,
        enable_all_event_upload: true,
        disable_unknown_event_upload: true,
        block_usb_mount: true,
        remount_usb_mode: ['rdonly', 'noexec'],
        override_file_access_action: 'AUDIT_ONLY' as const,
      };
      await profile(client.options.machineId, settings);
      await client.sync();
      // By proto field name: full_sync_interval is the JSON name of full_sync_interval_seconds.
      const { full_sync_interval, ...sameNames } = settings;
      expect(client.preflight).toMatchObject({
        ...sameNames,
        full_sync_interval_seconds: full_sync_interval,
        removable_media_policy: { remount: { flags: ['rdonly', 'noexec'] } },
      });
      // A setting turned off must arrive as false: absent would leave the client's old value.
      await profile(client.options.machineId, {
        enable_bundles: false,
        enable_transitive_rules: false,
        block_usb_mount: false,
      });
      await client.sync();
      expect(client.preflight).toMatchObject({
        enable_bundles: false,
        enable_transitive_rules: false,
        block_usb_mount: false,
        removable_media_policy: { allow: true },
      });
    },
  );

  it.each(TRANSFERS)(
    '%s transfer: a clean sync ordered from the console, and one owed for drifted counts, replace what the client holds',
    async (transfer) => {
      const client = await clientAllowing(transfer, sha(600));
      const machineId = client.options.machineId;
      expect((await client.sync()).syncType).toBe('CLEAN'); // the first, after enrollment
      // The server answers a drift once per rule version, so the rules move on first.
      await binaryFor(machineId, sha(603));
      expect((await client.sync()).syncType).toBe('NORMAL');
      const stale = { identifier: sha(601), rule_type: 'BINARY', policy: 'BLOCKLIST' };
      client.held.set('stale', stale);
      // Nothing changed on the server since, but the client counts one BINARY rule too many.
      expect((await client.sync()).syncType).toBe('CLEAN');
      expect(identifiers(client).sort()).toEqual([sha(600), sha(603)]);
      expect((await client.sync()).syncType).toBe('NORMAL');

      client.held.set('stale', stale);
      await server.repos.machines.orderCleanSync(machineId, {
        actor: 'helpdesk',
        reason: 'console',
      });
      await binaryFor(machineId, sha(602));
      expect((await client.sync()).syncType).toBe('CLEAN');
      expect(identifiers(client).sort()).toEqual([sha(600), sha(602), sha(603)]);
      expect((await client.sync()).syncType).toBe('NORMAL');
    },
  );

  it.each(TRANSFERS)(
    "%s transfer: every rule field and policy a client acts on, and the notification's app name",
    async (transfer) => {
      const client = await enrolledClient({ transfer });
      const machineId = client.options.machineId;
      await client.sync();
      const rules = [
        {
          identifier: 'EQHXZ8M8AV:com.example.tool',
          rule_type: 'SIGNINGID',
          policy: 'CEL',
          cel_expr: "target.signing_time >= timestamp('2025-01-01T00:00:00Z')",
        },
        {
          identifier: sha(700),
          rule_type: 'BINARY',
          policy: 'SILENT_GUI_BLOCKLIST',
          custom_msg: 'Not here',
          custom_url: 'https://gatehouse.example/why',
          event_detail_button_label: 'Why?',
        },
        { identifier: sha(701), rule_type: 'BINARY', policy: 'SILENT_TTY_BLOCKLIST' },
        { identifier: sha(702), rule_type: 'BINARY', policy: 'SILENT_BLOCKLIST' },
        { identifier: sha(703), rule_type: 'BINARY', policy: 'ALLOWLIST_COMPILER' },
        { identifier: 'a'.repeat(40), rule_type: 'CDHASH', policy: 'BLOCKLIST' },
        { identifier: sha(704), rule_type: 'CERTIFICATE', policy: 'ALLOWLIST' },
      ];
      for (const rule of rules) await put({ ...rule, scope: 'machine', scope_value: machineId });
      await binaryFor(machineId, sha(705), 'ALLOWLIST', { notification_app_name: 'Example Tool' });
      const report = await client.sync();
      expect(report.syncType).toBe('NORMAL');
      expect(report.processed).toBe(rules.length + 1);
      for (const rule of rules) expect(client.rule(rule.identifier, rule.rule_type)).toEqual(rule);
      expect(report.notifications).toEqual(['Example Tool']);
    },
  );

  it.each(TRANSFERS)(
    '%s transfer: overlapping scopes and an owner change leave the client holding what the console says reaches it',
    async (transfer) => {
      const client = await enrolledClient({ transfer, facts: { primary_user: 'ada' } });
      const machineId = client.options.machineId;
      const target = sha(transfer === 'json' ? 800 : 810);
      const global = await put({
        identifier: target,
        rule_type: 'BINARY',
        policy: 'ALLOWLIST',
        scope: 'global',
      });
      try {
        const local = await binaryFor(machineId, target, 'BLOCKLIST');
        await put({
          identifier: sha(820),
          rule_type: 'BINARY',
          policy: 'ALLOWLIST',
          scope: 'user',
          scope_value: 'ada',
        });
        await put({
          identifier: sha(821),
          rule_type: 'BINARY',
          policy: 'ALLOWLIST',
          scope: 'user',
          scope_value: 'grace',
        });
        await client.sync();
        expect(client.rule(target)?.policy).toBe('BLOCKLIST');
        await server.repos.rules.remove(local);
        await client.sync();
        expect(client.rule(target)?.policy).toBe('ALLOWLIST'); // not REMOVE: the global still reaches it
        expect(client.rule(sha(820))).toBeDefined();

        (client.options.facts as SantaMessage).primary_user = 'grace';
        await client.sync();
        expect(client.rule(sha(820))).toBeUndefined();
        expect(client.rule(sha(821))?.policy).toBe('ALLOWLIST');
        expect(client.rule(target)?.policy).toBe('ALLOWLIST');
      } finally {
        await server.repos.rules.remove(global);
      }
    },
  );

  it.each(TRANSFERS)(
    '%s transfer: a CLEAN_ALL the console orders drops the rules the Mac made, once',
    async (transfer) => {
      const client = await enrolledClient({ transfer });
      const machineId = client.options.machineId;
      await binaryFor(machineId, sha(530));
      await client.sync();
      client.addTransitiveRule(sha(531));
      const order = { actor: 'grace', reason: 'console' };
      expect(await server.repos.machines.orderCleanSync(machineId, { ...order, all: true })).toBe(
        true,
      );
      // A plain clean sync ordered after it does not undo it.
      await server.repos.machines.orderCleanSync(machineId, order);

      const cleanAll = await client.sync();
      expect(cleanAll.syncType).toBe('CLEAN_ALL');
      expect(client.rule(sha(531))).toBeUndefined();
      expect(client.rule(sha(530))?.policy).toBe('ALLOWLIST');
      client.addTransitiveRule(sha(532));
      expect((await client.sync()).syncType).toBe('NORMAL');
      expect(client.rule(sha(532))).toBeDefined();
    },
  );
  // Only preflight carries the serial: the other stages are tied to it by the sync token (Santa's
  // XSRF token) its preflight carried, so in the real Mac's sync window a caller on the fleet
  // credential that skipped preflight reads nothing.
  it("a fleet-credential caller that skips preflight cannot read another Mac's rules mid-sync (H3)", async () => {
    const fleetProfile = {
      syncBaseURL: `${server.base}/santa/`,
      machineId: `fleet-window-${engine}`,
      headers: { Authorization: `Bearer ${SECRET}` },
    };
    const real = new SantaClient({ ...fleetProfile, facts: { serial_number: 'C02REALMAC' } });
    await real.sync();
    await binaryFor(fleetProfile.machineId, sha(910), 'BLOCKLIST');
    await real.post('preflight', { serial_number: 'C02REALMAC' });
    const thief = new SantaClient({ ...fleetProfile, facts: { serial_number: 'C02THIEF' } });
    await expect(thief.post('ruledownload', {})).rejects.toMatchObject({ status: 403 });
  });
  it.each(TRANSFERS)(
    '%s transfer: a stock client syncs on the fleet profile alone; another Mac cannot take its id',
    async (transfer) => {
      const machineId = `fleet-${engine}-${transfer}`;
      const fleetProfile = {
        syncBaseURL: `${server.base}/santa/`,
        machineId,
        headers: { Authorization: `Bearer ${SECRET}` },
        transfer,
      };
      const real = new SantaClient({ ...fleetProfile, facts: { serial_number: 'C02REALMAC' } });
      await binaryFor(machineId, sha(900));
      expect((await real.sync()).syncType).toBe('CLEAN');
      expect(real.rule(sha(900))?.policy).toBe('ALLOWLIST');

      const thief = new SantaClient({ ...fleetProfile, facts: { serial_number: 'C02THIEF' } });
      await expect(thief.sync()).rejects.toMatchObject({ stage: 'preflight', status: 403 });
      expect((await real.sync()).syncType).toBe('NORMAL');
      expect(await auditedActions(server.db, machineId)).toEqual(
        expect.arrayContaining(['machine.enroll', 'enroll.conflict']),
      );
    },
  );
});
