// The push stream against a hostile machine: one token opening stream after stream holds one
// (each new one closes the last, on any server process), a full server answers 429 with
// Retry-After and counts it, and a stream whose token was replaced stops hearing pushes.
import { describe, expect, it } from 'vitest';
import { PushHub } from '../../../../../server/push';
import { binaryRule } from '../../../../helpers/rules';
import { useScratchPerTest } from '../../../../helpers/scratch';
import {
  startTestServer,
  startTwoServerProcesses,
  type TestServer,
} from '../../../../helpers/server';
import { listen, type StreamListener } from '../../../../helpers/sse';
import { until } from '../../../../helpers/wait';

const { cleanups } = useScratchPerTest('streams');

async function server(push: PushHub): Promise<TestServer> {
  const started = await startTestServer('sqlite', { push });
  cleanups.push(() => started.close());
  return started;
}

function open(base: string, machine: string, token: string): StreamListener {
  const stream = listen(`${base}/api/v1/machines/${machine}/stream`, token);
  cleanups.push(() => stream.stop());
  return stream;
}

describe('push streams under abuse', () => {
  it('holds one stream per machine however many one token opens, and answers every attempt', async () => {
    const { base, repos } = await server(new PushHub());
    const token = await repos.machines.enroll('greedy', {});
    const streams: StreamListener[] = [];
    for (let round = 0; round < 6; round++) {
      const batch = Array.from({ length: 50 }, () => open(base, 'greedy', token));
      streams.push(...batch);
      await until(() => batch.every((s) => s.status() !== 0), 'every attempt to be answered');
    }
    expect(new Set(streams.map((s) => s.status()))).toEqual(new Set([200]));
    expect(repos.push.connected).toBe(1);
    await until(
      () => streams.filter((s) => s.ended()).length === 299,
      'the replaced streams to end',
    );
    const last = streams.find((s) => !s.ended())!;
    expect(streams[0]!.comments).toEqual(['closed: this machine opened another stream']);
    await repos.rules.put(binaryRule('a'.repeat(64)));
    await until(() => last.events.includes('rules-changed'), 'the push on the stream still held');
  });

  it('refuses a stream past the server limit with 429 and Retry-After, and counts it', async () => {
    const { base, repos } = await server(
      new PushHub(undefined, { maxStreams: 2, retryAfterS: 30 }),
    );
    const tokens = await Promise.all(['m1', 'm2', 'm3'].map((id) => repos.machines.enroll(id, {})));
    const first = open(base, 'm1', tokens[0]!);
    const second = open(base, 'm2', tokens[1]!);
    await until(() => repos.push.connected === 2, 'two streams');
    const third = open(base, 'm3', tokens[2]!);
    await third.done;
    expect(third.status()).toBe(429);
    expect(third.retryAfter()).toBe('30');
    // A machine that holds a stream may still replace it at the limit.
    const again = open(base, 'm1', tokens[0]!);
    await until(() => first.ended() && again.status() === 200, 'm1 to replace its stream');
    expect(second.ended()).toBe(false);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^gatehouse_limit_hits_total\{limit="push_streams"\} 1$/m);
    expect(metrics).toMatch(/^gatehouse_push_streams_held 2$/m);
  });

  it('closes a stream once its machine enrolls again with a new token', async () => {
    const { base, repos } = await server(new PushHub(undefined, { tokenCheckMs: 50 }));
    const token = await repos.machines.enroll('rotated', {});
    const stream = open(base, 'rotated', token);
    await until(() => repos.push.connected === 1, 'the stream');
    await repos.machines.enroll('rotated', {});
    await until(() => stream.ended(), 'the stream of the replaced token to end');
    expect(stream.comments).toEqual([
      "closed: this stream's token is no longer valid: enroll again",
    ]);
    expect(repos.push.connected).toBe(0);
    await repos.rules.put(binaryRule('b'.repeat(64)));
    expect(stream.events).toEqual([]);
  });

  it('closes the stream held on another server process when the machine opens a new one', async () => {
    const deployment = await startTwoServerProcesses();
    cleanups.push(() => deployment.close());
    const { one, two } = deployment;
    const token = await one.repos.machines.enroll('roaming', {});
    const first = open(one.base, 'roaming', token);
    await until(() => one.repos.push.connected === 1, 'the stream on the first process');
    const second = open(two.base, 'roaming', token);
    await until(() => first.ended(), 'the first process to close its stream');
    expect(one.repos.push.connected).toBe(0);
    expect(two.repos.push.connected).toBe(1);
    expect(second.ended()).toBe(false);
  });
});
