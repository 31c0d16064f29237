import { describe, expect, it } from 'vitest';
import { uploadPosture } from '../../../../../../main/agent/sync/stages/posture';
import { context, fakeAgent } from '../fake-agent';
import { json, transport } from '../fake-server';

describe('posture stage', () => {
  it('delivers results once, and again only when they change', async () => {
    const fake = fakeAgent();
    fake.posture = [{ id: 'disk-encryption', status: 'pass' }];
    const { transport: t, sent } = transport(() => json({}), { token: 'tok' });
    const first = await uploadPosture(context(fake, t), undefined);
    expect(first).toBeDefined();
    expect(await uploadPosture(context(fake, t), first)).toBeUndefined();
    fake.posture = [{ id: 'disk-encryption', status: 'fail' }];
    expect(await uploadPosture(context(fake, t), first)).toBeDefined();
    expect(sent.map((s) => s.url)).toEqual([
      'http://sync.test/api/v1/machines/machine%201/posture',
      'http://sync.test/api/v1/machines/machine%201/posture',
    ]);
  });

  it('leaves a server without a token or without the endpoint alone', async () => {
    const fake = fakeAgent();
    fake.posture = [{ id: 'firewall', status: 'pass' }];
    const anonymous = transport(() => json({}));
    expect(await uploadPosture(context(fake, anonymous.transport), undefined)).toBeUndefined();
    expect(anonymous.sent).toHaveLength(0);
    const santa = transport(() => json('', 404), { token: 'tok' });
    expect(await uploadPosture(context(fake, santa.transport), undefined)).toBeUndefined();
  });
});
