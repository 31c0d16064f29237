import { describe, expect, it } from 'vitest';
import { uploadEvents } from '../../../../../../main/agent/sync/stages/event-upload';
import { context, fakeAgent, storedEvent } from '../fake-agent';
import { json, transport } from '../fake-server';

describe('eventupload stage', () => {
  it("uploads in batches of the preflight's size and marks each batch after its 200", async () => {
    const fake = fakeAgent();
    fake.events.push(storedEvent(1), storedEvent(2), storedEvent(3));
    const { transport: t, sent } = transport(() => json({}));
    expect(await uploadEvents(context(fake, t), 2)).toBe(3);
    expect(sent.map((s) => (s.body!.events as unknown[]).length)).toEqual([2, 1]);
    expect(sent[0]!.body!.events).toContainEqual(
      expect.objectContaining({ file_name: 'bin-1', pid: 11, decision: 'BLOCK_BINARY' }),
    );
    expect(fake.uploaded).toEqual([1, 2, 3]);
  });

  it('keeps a batch the server did not accept', async () => {
    const fake = fakeAgent();
    fake.events.push(storedEvent(1), storedEvent(2));
    const statuses = [200, 500];
    const { transport: t } = transport(() => json({}, statuses.shift()));
    await expect(uploadEvents(context(fake, t), 1)).rejects.toThrow('eventupload');
    expect(fake.uploaded).toEqual([1]);
  });

  it('sends nothing when nothing is pending', async () => {
    const { transport: t, sent } = transport(() => json({}));
    expect(await uploadEvents(context(fakeAgent(), t), 50)).toBe(0);
    expect(sent).toHaveLength(0);
  });
});
