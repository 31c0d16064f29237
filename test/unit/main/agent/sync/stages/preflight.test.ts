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
    // No interval: the one the server set before stays (the sync client keeps it).
    expect((await answerTo({})).answer).toEqual({ syncType: 'NORMAL', batchSize: 50 });
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
    // Santa (SNTSyncPreflight): 0 is "not set", which changes nothing; above the floor is taken.
    expect((await answerTo({ full_sync_interval: 0 })).answer.fullSyncIntervalS).toBeUndefined();
    expect((await answerTo({ full_sync_interval: 900 })).answer.fullSyncIntervalS).toBe(900);
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
      event_detail_text: 'Ask IT',
      enable_bundles: null,
      some_future_setting: 1,
    });
    expect(answer).toEqual({
      syncType: 'NORMAL',
      batchSize: 50,
      clientMode: 'LOCKDOWN',
      enableTransitiveRules: true,
      enableAllEventUpload: false,
      eventDetailUrl: 'https://help.example/%file_sha%',
      eventDetailText: 'Ask IT',
      ignored: [
        'allowed_path_regex',
        'block_usb_mount',
        'remount_usb_mode',
        'removable_media_policy',
        'override_file_access_action',
      ],
    });
    // Santa's deprecated spelling, only when the current one is absent.
    expect((await answerTo({ enabled_transitive_whitelisting: true })).answer).toMatchObject({
      enableTransitiveRules: true,
    });
  });

  it('takes the Open button from the server: https, or http to this machine only', async () => {
    const detail = async (reply: Record<string, unknown>) => {
      const { answer } = await answerTo(reply);
      return {
        url: answer.eventDetailUrl,
        text: answer.eventDetailText,
        refused: answer.refused,
      };
    };
    expect(await detail({ event_detail_url: 'http://127.0.0.1:8080/portal/%file_sha%' })).toEqual({
      url: 'http://127.0.0.1:8080/portal/%file_sha%',
      text: undefined,
      refused: undefined,
    });
    // Santa: an empty or "null" URL means no Open button, whatever the configuration says.
    expect((await detail({ event_detail_url: '' })).url).toBe('null');
    expect((await detail({ event_detail_url: 'null' })).url).toBe('null');
    for (const bad of [
      'http://help.example/%file_sha%',
      'javascript:alert(1)',
      'file:///etc/passwd',
      `https://help.example/${'a'.repeat(4100)}`,
      42,
    ]) {
      const got = await detail({ event_detail_url: bad, event_detail_text: 'Ask IT' });
      expect(got).toEqual({
        url: undefined,
        text: 'Ask IT',
        refused: [
          'event_detail_url must be an https:// URL (http:// only for localhost) of at most 4096 characters',
        ],
      });
    }
    expect(await detail({ event_detail_text: 'x'.repeat(65) })).toEqual({
      url: undefined,
      text: undefined,
      refused: ['event_detail_text must be a string of 1 to 64 characters'],
    });
  });
});
