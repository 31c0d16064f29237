// The agent's push stream: each event's kind and the spread its data asks for, read from
// Server-Sent Events; a spread that is not a positive whole number is none, a huge one is capped.
import { describe, expect, it } from 'vitest';
import {
  MAX_SPREAD_MS,
  PushStream,
  RECONNECT_SPREAD_MS,
  jittered,
  spreadOf,
  type Nudge,
} from '../../../../../main/agent/sync/push';

describe('spreadOf', () => {
  it.each([
    ['{"spread_ms":2500}', 2500],
    [' {"spread_ms":1}', 1],
    ['{}', 0],
    ['{"spread_ms":-5}', 0],
    ['{"spread_ms":1.5}', 0],
    ['{"spread_ms":"9000"}', 0],
    ['{"spread_ms":1e12}', MAX_SPREAD_MS],
    ['null', 0],
    ['not json', 0],
  ])('%s → %d', (data, spread) => {
    expect(spreadOf(data)).toBe(spread);
  });
});

/**
 * A stream whose server answers each connection with the next of `connections` (its chunks),
 * then ends it; the stream stops itself after the last. Its nudges, as the scheduler gets them.
 */
function streamServing(connections: string[][], random?: () => number) {
  const nudges: Nudge[] = [];
  let served = 0;
  const fetchNext = (async () => {
    const chunks = connections[served++] ?? [];
    return new Response(
      new ReadableStream({
        start(controller) {
          for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
          controller.close();
          if (served === connections.length) stream.stop();
        },
      }),
      { status: 200 },
    );
  }) as typeof fetch;
  const url = new URL('http://127.0.0.1:9/stream');
  const stream = new PushStream(url, 't', (n) => nudges.push(n), fetchNext, random);
  stream.start();
  return nudges;
}

describe('PushStream', () => {
  it('hands each event its kind and spread, comments and unnamed messages aside', async () => {
    const nudges = streamServing([
      [
        ': connected\n\n',
        'event: rules-changed\ndata: {"spread_ms":3000}\n\n',
        'event: request-updated\ndata: {"id":4,"state":"approved"}\n\n',
        'data: {"spread_ms":10}\n\n',
        'event: rules-chan',
        'ged\r\ndata: {}\r\n\r\n',
      ],
    ]);
    await expect.poll(() => nudges.length).toBe(3);
    expect(nudges).toEqual([
      { kind: 'rules-changed', spreadMs: 3000 },
      { kind: 'request-updated', spreadMs: 0 },
      { kind: 'rules-changed', spreadMs: 0 },
    ]);
  });

  it('spreads the catch-up sync after a reconnection', async () => {
    const nudges = streamServing([[': connected\n\n'], [': connected\n\n']], () => 0);
    await expect.poll(() => nudges.length, { timeout: 5000 }).toBe(1);
    expect(nudges).toEqual([{ kind: 'reconnected', spreadMs: RECONNECT_SPREAD_MS }]);
  });

  it('waits a random half to whole of the backoff before reconnecting', () => {
    expect([0, 0.5, 0.999].map((draw) => jittered(8000, draw))).toEqual([4000, 6000, 7996]);
  });
});
