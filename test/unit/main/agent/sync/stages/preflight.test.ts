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
    expect(answer).toEqual({ syncType: 'NORMAL', batchSize: 50, fullSyncIntervalS: 60 });
    expect((await answerTo({ client_mode: 'LOCKDOWN' })).answer.clientMode).toBe('LOCKDOWN');
  });
});
