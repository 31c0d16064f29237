import { describe, expect, it } from 'vitest';
import { postflight } from '../../../../../../main/agent/sync/stages/postflight';
import { context, fakeAgent } from '../fake-agent';
import { json, transport } from '../fake-server';

describe('postflight stage', () => {
  it('reports what was received and applied, and the rules hash the agent now holds', async () => {
    const { transport: t, sent } = transport(() => json({}));
    await postflight(context(fakeAgent(), t), 'CLEAN', { received: 4, processed: 2, skipped: [] });
    expect(sent[0]).toMatchObject({
      url: 'http://sync.test/santa/postflight/machine%201',
      body: {
        machine_id: 'machine 1',
        rules_received: 4,
        rules_processed: 2,
        sync_type: 'CLEAN',
        rules_hash: 'hash',
      },
    });
  });

  it('fails the sync when the server does not accept it', async () => {
    const { transport: t } = transport(() => json({ error: 'busy' }, 503));
    await expect(
      postflight(context(fakeAgent(), t), 'NORMAL', { received: 0, processed: 0, skipped: [] }),
    ).rejects.toThrow('postflight: the server answered 503');
  });
});
