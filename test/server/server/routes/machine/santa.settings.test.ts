// A stock Santa client (test/helpers/santa-client.ts: messages from sync/v1.proto through
// protobufjs, JSON and binary transfer) receives the settings profiles in preflight: the console's
// client mode applies after postflight, and every other setting arrives under its proto field;
// its file access events reach the console's list. On both engines.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Repositories } from '../../../../../server/app';
import type { SettingValues } from '../../../../../server/schemas/settings';
import { SantaClient, type SantaTransfer } from '../../../../helpers/santa-client';
import { ENGINES, startTestServer, type TestServer } from '../../../../helpers/server';

const TRANSFERS: SantaTransfer[] = ['json', 'binary'];

/** The global profile: every setting, under the PreflightResponse JSON names. */
const GLOBAL = {
  client_mode: 'MONITOR',
  event_detail_url: 'https://help.example/%file_sha%',
  event_detail_text: 'Request it',
  full_sync_interval: 900,
  blocked_path_regex: '^/Users/[^/]+/Downloads/',
  enable_transitive_rules: true,
  enable_bundles: true,
  enable_all_event_upload: false,
  disable_unknown_event_upload: true,
  block_usb_mount: true,
  remount_usb_mode: ['rdonly', 'noexec'],
  override_file_access_action: 'AUDIT_ONLY',
} satisfies SettingValues;

describe.each(ENGINES)('Santa preflight settings on %s', (engine) => {
  let server: TestServer;
  let repos: Repositories;

  beforeAll(async () => {
    server = await startTestServer(engine);
    repos = server.repos;
    await repos.settings.put({ scope: 'global', value: '', priority: 0, values: GLOBAL }, 'root');
    await repos.settings.put(
      { scope: 'tag', value: 'finance', priority: 0, values: { client_mode: 'LOCKDOWN' } },
      'root',
    );
  }, 60_000);
  afterAll(() => server?.close());

  async function stockClient(machineId: string, transfer: SantaTransfer, tags: string[] = []) {
    const token = await repos.machines.enroll(machineId, { tags });
    return new SantaClient({
      syncBaseURL: `${server.base}/santa/`,
      machineId,
      headers: { authorization: `Bearer ${token}` },
      transfer,
      facts: { client_mode: 'MONITOR' },
    });
  }

  it.each(TRANSFERS)('moves a Mac to LOCKDOWN after postflight (%s transfer)', async (transfer) => {
    const client = await stockClient(`mac-lock-${transfer}`, transfer, ['finance']);
    await client.sync();
    expect(client.preflight.client_mode).toBe('LOCKDOWN');
    expect(client.clientMode).toBe('LOCKDOWN');
    const other = await stockClient(`mac-monitor-${transfer}`, transfer);
    await other.sync();
    expect(other.clientMode).toBe('MONITOR');
  });

  it.each(TRANSFERS)(
    'receives every setting under its proto field (%s transfer)',
    async (transfer) => {
      const client = await stockClient(`mac-all-${transfer}`, transfer);
      await client.sync();
      // protobufjs names fields as the proto does: full_sync_interval is full_sync_interval_seconds.
      const { full_sync_interval: interval, ...sameName } = GLOBAL;
      expect(client.preflight).toMatchObject({
        ...sameName,
        batch_size: 50,
        full_sync_interval_seconds: interval,
        removable_media_policy: { remount: { flags: ['rdonly', 'noexec'] } },
      });
    },
  );

  it.each(TRANSFERS)(
    'uploads file access events the console lists (%s transfer)',
    async (transfer) => {
      const machineId = `mac-faa-${transfer}`;
      const client = await stockClient(machineId, transfer);
      await client.post('eventupload', {
        file_access_events: [
          {
            rule_version: 'v1',
            rule_name: 'SSHKeys',
            target: '/Users/ada/.ssh/id_ed25519',
            process_chain: [{ file_path: '/usr/bin/scp', pid: 12 }],
            access_time: 1_790_000_000.5,
            decision: 'FILE_ACCESS_DECISION_DENIED',
          },
        ],
      });
      const { events } = await repos.fileAccess.list(machineId, { limit: 10, offset: 0 });
      expect(events).toMatchObject([
        {
          rule_name: 'SSHKeys',
          target: '/Users/ada/.ssh/id_ed25519',
          decision: 'FILE_ACCESS_DECISION_DENIED',
          access_time: 1_790_000_000.5,
          process_chain: [{ file_path: '/usr/bin/scp', pid: 12 }],
        },
      ]);
    },
  );
});
