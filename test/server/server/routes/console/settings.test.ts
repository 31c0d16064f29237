// Settings profiles through the console API and out through Santa's preflight, over real HTTP on
// both engines: an admin moves a Mac between MONITOR and LOCKDOWN, machine wins over tag over
// global, two tags resolve by priority then name, every change is audited and pushed, and hostile
// edits (bad regex, out of range, unknown key, a viewer or helpdesk editing) change nothing.
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PushMessage } from '../../../../../server/push';
import { callConsole, logInThroughApi, type ConsoleSession } from '../../../../helpers/console-api';
import { CONSOLE_ACCOUNTS, logInConsoleAccounts } from '../../../../helpers/console-fixtures';
import { ENGINES, startTestServer } from '../../../../helpers/server';
import { useStarted } from '../../../../helpers/scratch';

describe.each(ENGINES)('settings profiles on %s', (engine) => {
  const server = useStarted(() =>
    startTestServer(engine, { batchSize: 40, fullSyncIntervalS: 300 }),
  );
  let admin: ConsoleSession;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    ({ admin } = await logInConsoleAccounts(server, 'admin', 'helpdesk', 'viewer'));
    tokens['mac-1'] = await server.repos.machines.enroll('mac-1', { tags: ['dev', 'qa'] });
    tokens['mac-2'] = await server.repos.machines.enroll('mac-2', { tags: ['qa'] });
  });

  beforeEach(async () => {
    for (const profile of await server.repos.settings.list())
      await server.repos.settings.remove(profile.scope, profile.scope_value ?? '', 'test');
  });

  const put = (body: unknown, session: ConsoleSession = admin) =>
    callConsole(server.base, 'POST', '/console/api/settings', { ...session, body });
  const get = (path: string, session: ConsoleSession = admin) =>
    callConsole(server.base, 'GET', path, session);
  const remove = (path: string, session: ConsoleSession = admin) =>
    callConsole(server.base, 'DELETE', path, session);

  /** Santa's preflight as a stock client sends it (plain JSON), and its answer. */
  async function preflight(machineId: string) {
    const response = await fetch(`${server.base}/santa/preflight/${machineId}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${tokens[machineId]}`,
      },
      body: JSON.stringify({ serial_num: 'C02X', client_mode: 'MONITOR', machine_id: machineId }),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as Record<string, unknown>;
  }

  it('sends no client_mode until a profile sets one, then the mode the console chose', async () => {
    expect(await preflight('mac-1')).not.toHaveProperty('client_mode');
    expect((await put({ scope: 'global', values: { client_mode: 'LOCKDOWN' } })).status).toBe(200);
    expect(await preflight('mac-1')).toMatchObject({ client_mode: 'LOCKDOWN' });
    expect(
      (await put({ scope: 'machine', scope_value: 'mac-1', values: { client_mode: 'MONITOR' } }))
        .status,
    ).toBe(200);
    expect(await preflight('mac-1')).toMatchObject({ client_mode: 'MONITOR' });
    expect(await preflight('mac-2')).toMatchObject({ client_mode: 'LOCKDOWN' });
  });

  it('sends every setting a profile holds by its PreflightResponse name', async () => {
    const values = {
      client_mode: 'STANDALONE',
      event_detail_url: 'https://help.example/b/%file_sha%?m=%machine_id%',
      event_detail_text: 'Ask for it',
      batch_size: 25,
      full_sync_interval: 120,
      allowed_path_regex: '^/Applications/Tools/',
      blocked_path_regex: '^/Users/[^/]+/Downloads/',
      enable_transitive_rules: true,
      enable_bundles: false,
      enable_all_event_upload: true,
      disable_unknown_event_upload: false,
      block_usb_mount: true,
      remount_usb_mode: ['rdonly', 'noexec'],
      override_file_access_action: 'AUDIT_ONLY',
    };
    expect((await put({ scope: 'global', values })).status).toBe(200);
    const answer = await preflight('mac-2');
    expect(answer).toMatchObject({
      ...values,
      removable_media_policy: { remount: { flags: ['rdonly', 'noexec'] } },
    });
  });

  it('sends the server defaults for batch size and interval when no profile sets them', async () => {
    const answer = await preflight('mac-2');
    expect(answer).toMatchObject({ batch_size: 40, full_sync_interval: 300 });
    for (const key of ['enable_bundles', 'allowed_path_regex', 'block_usb_mount'])
      expect(answer).not.toHaveProperty(key);
  });

  it('lets machine win over tag over global, and tags by priority then by name', async () => {
    await put({ scope: 'global', values: { batch_size: 10, enable_bundles: true } });
    await put({ scope: 'tag', scope_value: 'qa', values: { batch_size: 20 } });
    await put({ scope: 'tag', scope_value: 'dev', values: { batch_size: 30 } });
    // Equal priority: "dev" sorts before "qa" and wins on mac-1, which has both.
    expect(await preflight('mac-1')).toMatchObject({ batch_size: 30, enable_bundles: true });
    expect(await preflight('mac-2')).toMatchObject({ batch_size: 20 });
    await put({ scope: 'tag', scope_value: 'qa', priority: 5, values: { batch_size: 20 } });
    expect(await preflight('mac-1')).toMatchObject({ batch_size: 20 });
    await put({ scope: 'machine', scope_value: 'mac-1', values: { batch_size: 7 } });
    expect(await preflight('mac-1')).toMatchObject({ batch_size: 7, enable_bundles: true });

    const effective = await get('/console/api/machines/mac-1/settings');
    expect(effective.status).toBe(200);
    const byKey = Object.fromEntries(
      (effective.body.settings as { key: string; value: unknown; source: string }[]).map((s) => [
        s.key,
        s,
      ]),
    );
    expect(byKey.batch_size).toEqual({ key: 'batch_size', value: 7, source: 'machine' });
    expect(byKey.enable_bundles).toMatchObject({ value: true, source: 'global' });
    expect(byKey.full_sync_interval).toMatchObject({ value: 300, source: 'default' });
    await remove('/console/api/settings/machine/mac-1');
    const after = await get('/console/api/machines/mac-1/settings');
    expect(after.body.settings).toContainEqual({ key: 'batch_size', value: 20, source: 'tag:qa' });
  });

  it('audits each change with the values before and after', async () => {
    const tag = 'audited';
    await put({ scope: 'tag', scope_value: tag, values: { client_mode: 'MONITOR' } });
    await put({ scope: 'tag', scope_value: tag, values: { client_mode: 'LOCKDOWN' } });
    await remove(`/console/api/settings/tag/${tag}`);
    const log = await get(`/console/api/audit?target=settings:tag:${tag}`);
    expect(log.status).toBe(200);
    const entries = log.body.entries as { action: string; actor: string; details: unknown }[];
    expect(entries.map((e) => e.action)).toEqual([
      'settings.remove',
      'settings.update',
      'settings.update',
    ]);
    expect(entries[1]).toMatchObject({
      actor: 'root',
      details: { values: { client_mode: 'LOCKDOWN' }, before: { client_mode: 'MONITOR' } },
    });
  });

  it('tells the machines a profile reaches, and only them', async () => {
    const heard: Record<string, PushMessage[]> = { 'mac-1': [], 'mac-2': [] };
    const stops = [
      { machineId: 'mac-1', tags: ['dev', 'qa'] },
      { machineId: 'mac-2', tags: ['qa'] },
    ].map(({ machineId, tags }) =>
      server.repos.push.subscribe({
        machineId,
        primaryUser: null,
        tags,
        send: (message: PushMessage) => heard[machineId]!.push(message),
      }),
    );
    try {
      await put({ scope: 'tag', scope_value: 'dev', values: { enable_bundles: true } });
      expect(heard['mac-1']!.map((m) => m.kind)).toEqual(['settings-changed']);
      expect(heard['mac-2']).toEqual([]);
      await put({ scope: 'global', values: { enable_bundles: false } });
      expect(heard['mac-2']!.map((m) => m.kind)).toEqual(['settings-changed']);
    } finally {
      for (const stop of stops) stop();
    }
  });

  describe('refuses hostile or mistaken edits and keeps what was there', () => {
    beforeEach(async () => {
      await put({ scope: 'global', values: { client_mode: 'MONITOR' } });
    });

    async function refused(body: unknown, status: number, error: RegExp, session = admin) {
      const reply = await put(body, session);
      expect(reply.status).toBe(status);
      expect(reply.body.error).toMatch(error);
      expect((await server.repos.settings.get('global', ''))?.values).toEqual({
        client_mode: 'MONITOR',
      });
    }

    it.each([
      [{ allowed_path_regex: '^/opt/(tools' }, /allowed_path_regex is not a regular expression/],
      [{ blocked_path_regex: '[z-a]' }, /blocked_path_regex is not a regular expression/],
      [{ allowed_path_regex: '.*' }, /matches paths anywhere/],
      [{ batch_size: 0 }, /batch_size must be a whole number from 1 to 500/],
      [{ batch_size: 2.5 }, /batch_size must be a whole number/],
      [{ full_sync_interval: 30 }, /full_sync_interval .* from 60 to 86400.*floor is 60/],
      [{ client_mode: 'lockdown' }, /client_mode must be one of MONITOR, LOCKDOWN, STANDALONE/],
      [{ override_file_access_action: 'AUDITONLY' }, /NONE, AUDIT_ONLY, DISABLE/],
      [{ enable_bundles: 'yes' }, /enable_bundles must be true or false/],
      [{ event_detail_url: 'javascript:alert(1)' }, /event_detail_url must be an https/],
      [{ event_detail_text: 'x'.repeat(65) }, /event_detail_text must be text of 1 to 64/],
      [{ remount_usb_mode: ['rdonly'] }, /only with block_usb_mount set to true/],
      [{ block_usb_mount: true, remount_usb_mode: ['rw'] }, /"rw" is not one of rdonly/],
      [
        { whitelist_regex: '^/x' },
        /unknown setting "whitelist_regex": the settings are client_mode/,
      ],
    ])('values %j', async (values, error) => {
      await refused(
        { scope: 'global', values: { client_mode: 'LOCKDOWN', ...values } },
        400,
        error,
      );
    });

    it('refuses a bad scope, a tag with spaces, a machine not enrolled, a stray field', async () => {
      await refused({ scope: 'user', values: {} }, 400, /scope must be one of global, tag/);
      await refused({ scope: 'tag', scope_value: 'a b', values: {} }, 400, /letters, digits/);
      await refused({ scope: 'machine', scope_value: 'nope', values: {} }, 400, /no machine/);
      await refused({ scope: 'global', priority: 3, values: {} }, 400, /only a tag profile/);
      await refused({ scope: 'global', values: {}, admin: true }, 400, /unknown field "admin"/);
    });

    it('removes only a profile that exists, named by a scope it knows', async () => {
      expect(await remove('/console/api/settings/tag/nobody-has-this')).toMatchObject({
        status: 404,
        body: { error: 'no tag settings profile nobody-has-this' },
      });
      expect(await remove('/console/api/settings/user/ada')).toMatchObject({
        status: 400,
        body: { error: expect.stringMatching(/scope must be one of global, tag, machine/) },
      });
      expect(await remove('/console/api/settings/global/extra')).toMatchObject({
        status: 400,
        body: { error: 'the global profile has no scope value' },
      });
      expect((await server.repos.settings.get('global', ''))?.values).toEqual({
        client_mode: 'MONITOR',
      });
    });

    it('refuses a viewer or the helpdesk editing, and anyone without a session', async () => {
      for (const role of ['viewer', 'helpdesk'] as const) {
        const session = await logInThroughApi(server.base, CONSOLE_ACCOUNTS[role]);
        const body = { scope: 'global', values: { client_mode: 'LOCKDOWN' } };
        await refused(body, 403, /./, session);
        expect((await remove('/console/api/settings/global', session)).status).toBe(403);
        // Reading is for everyone.
        expect((await get('/console/api/settings', session)).status).toBe(200);
      }
      const anonymous = await callConsole(server.base, 'POST', '/console/api/settings', {
        body: { scope: 'global', values: { client_mode: 'LOCKDOWN' } },
      });
      expect(anonymous.status).toBe(401);
      expect(await preflight('mac-1')).toMatchObject({ client_mode: 'MONITOR' });
    });
  });
});
