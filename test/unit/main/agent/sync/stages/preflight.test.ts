import { describe, expect, it } from 'vitest';
import { preflight } from '../../../../../../main/agent/sync/stages/preflight';
import { context, fakeAgent } from '../fake-agent';
import { json, transport } from '../fake-server';

async function answerTo(reply: unknown, cleanRequested = false) {
  const fake = fakeAgent();
  const { transport: t, sent } = transport(() => json(reply));
  return { answer: await preflight(context(fake, t), cleanRequested), sent: sent[0]! };
}

describe('preflight stage', () => {
  it("says what the agent holds, and whether it wants a clean sync, in Santa's fields", async () => {
    const { sent } = await answerTo({}, true);
    expect(sent.url).toBe('http://sync.test/santa/preflight/machine%201');
    expect(sent.body).toMatchObject({
      serial_num: 'serial-1',
      primary_user: 'ada',
      client_mode: 'MONITOR',
      request_clean_sync: true,
      binary_rule_count: 2,
      teamid_rule_count: 1,
      machine_id: 'machine 1',
      rules_hash: 'hash',
    });
  });

  it("takes Santa's defaults from an empty answer", async () => {
    expect((await answerTo({})).answer).toEqual({
      syncType: 'NORMAL',
      batchSize: 50,
      fullSyncIntervalS: 600,
    });
  });

  it('reads sync_type over the deprecated clean_sync, in either case', async () => {
    expect((await answerTo({ sync_type: 'clean_all' })).answer.syncType).toBe('CLEAN_ALL');
    expect((await answerTo({ clean_sync: true })).answer.syncType).toBe('CLEAN');
    expect((await answerTo({ sync_type: 'NORMAL', clean_sync: true })).answer.syncType).toBe(
      'NORMAL',
    );
  });

  it('keeps the interval at a minute or more, and ignores a mode the agent cannot take', async () => {
    const { answer } = await answerTo({
      fullSyncIntervalSeconds: 5,
      batchSize: 0,
      client_mode: 'STANDALONE',
    });
    expect(answer).toEqual({
      syncType: 'NORMAL',
      batchSize: 50,
      fullSyncIntervalS: 60,
      ignored: ['client_mode STANDALONE'],
    });
    expect((await answerTo({ client_mode: 'LOCKDOWN' })).answer.clientMode).toBe('LOCKDOWN');
  });

  it('takes the switches it has a counterpart for, and names the settings it leaves alone', async () => {
    const { answer } = await answerTo({
      client_mode: 'LOCKDOWN',
      enable_transitive_rules: true,
      enableAllEventUpload: false,
      allowed_path_regex: '^/opt/',
      block_usb_mount: true,
      remount_usb_mode: ['rdonly'],
      removable_media_policy: { remount: { flags: ['rdonly'] } },
      override_file_access_action: 'DISABLE',
      event_detail_url: 'https://help.example/%file_sha%',
      enable_bundles: null,
      some_future_setting: 1,
    });
    expect(answer).toEqual({
      syncType: 'NORMAL',
      batchSize: 50,
      fullSyncIntervalS: 600,
      clientMode: 'LOCKDOWN',
      enableTransitiveRules: true,
      enableAllEventUpload: false,
      ignored: [
        'allowed_path_regex',
        'block_usb_mount',
        'remount_usb_mode',
        'removable_media_policy',
        'override_file_access_action',
        'event_detail_url',
      ],
    });
    // Santa's deprecated spelling, only when the current one is absent.
    expect((await answerTo({ enabled_transitive_whitelisting: true })).answer).toMatchObject({
      enableTransitiveRules: true,
    });
  });
});
