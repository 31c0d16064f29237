// A push to many machines carries the window their follow-up syncs spread over (spread_ms), sized
// by how many streams it reached; a push to named machines carries none, so they sync at once.
import { describe, expect, it } from 'vitest';
import { PushHub, SPREAD_MAX_MS, type PushMessage } from '../../../server/push';

function hubWith(machines: number, herdSyncsPerS: number) {
  const hub = new PushHub(undefined, { herdSyncsPerS });
  const heard = new Map<string, PushMessage[]>();
  for (let i = 0; i < machines; i++) {
    const machineId = `m-${i}`;
    heard.set(machineId, []);
    hub.subscribe({
      machineId,
      primaryUser: i === 0 ? 'ada' : null,
      tags: i < 2 ? ['lab'] : [],
      send: (message) => heard.get(machineId)!.push(message),
    });
  }
  return { hub, heard };
}

describe('push spread', () => {
  it('gives a broadcast the window in which this process takes its herd', async () => {
    const { hub, heard } = hubWith(4, 2);
    await hub.publish({ kind: 'rules-changed', target: { all: true } });
    for (const messages of heard.values())
      expect(messages).toEqual([
        { kind: 'rules-changed', target: { all: true }, detail: { spread_ms: 2000 } },
      ]);
  });

  it('sizes a tag or user push by the streams it reached, keeping its detail', async () => {
    const { hub, heard } = hubWith(4, 2);
    await hub.publish({
      kind: 'settings-changed',
      target: { tags: ['lab'] },
      detail: { why: 'x' },
    });
    expect(heard.get('m-1')).toEqual([
      {
        kind: 'settings-changed',
        target: { tags: ['lab'] },
        detail: { why: 'x', spread_ms: 1000 },
      },
    ]);
    expect(heard.get('m-2')).toEqual([]);
    await hub.publish({ kind: 'rules-changed', target: { users: ['ada'] } });
    expect(heard.get('m-0')!.at(-1)!.detail).toEqual({ spread_ms: 500 });
  });

  it('sends a push to named machines without a spread, and never spreads past the cap', async () => {
    const { hub, heard } = hubWith(3, 0.001);
    await hub.publish({
      kind: 'request-updated',
      target: { machines: ['m-2'] },
      detail: { id: 1, state: 'approved' },
    });
    expect(heard.get('m-2')).toEqual([
      {
        kind: 'request-updated',
        target: { machines: ['m-2'] },
        detail: { id: 1, state: 'approved' },
      },
    ]);
    await hub.publish({ kind: 'rules-changed', target: { all: true } });
    expect(heard.get('m-0')!.at(-1)!.detail).toEqual({ spread_ms: SPREAD_MAX_MS });
  });
});
