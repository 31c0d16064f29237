import { describe, expect, it } from 'vitest';
import type { ControlArgs, ControlMethod, ControlResult } from '../../../../common/control';
import {
  AgentConnection,
  reconnectDelayMs,
  type ControlConnection,
} from '../../../../main/app/agent-connection';

class FakeConnection implements ControlConnection {
  closed = false;
  notify: ((method: string, params: unknown) => void) | undefined;
  closeListener: (() => void) | undefined;
  async call<M extends ControlMethod>(
    method: M,
    ..._args: ControlArgs<M>
  ): Promise<ControlResult<M>> {
    if (this.closed) throw new Error('closed');
    const answers: Record<string, unknown> = {
      subscribe: { subscribed: true, status: { mode: 'LOCKDOWN' } },
      events: [{ id: 1 }],
      'requests.list': [],
    };
    return answers[method] as ControlResult<M>;
  }
  onNotification(listener: (method: string, params: unknown) => void) {
    this.notify = listener;
  }
  onClose(listener: () => void) {
    this.closeListener = listener;
  }
  close() {
    this.closed = true;
  }
  /** The service goes away. */
  drop() {
    this.closed = true;
    this.closeListener?.();
  }
}

function manualTimers() {
  const pending: { callback: () => void; ms: number }[] = [];
  return {
    pending,
    timers: {
      setTimeout: (callback: () => void, ms: number) => pending.push({ callback, ms }),
      clearTimeout: () => {},
    },
    async fire() {
      const next = pending.shift();
      if (!next) throw new Error('no timer pending');
      next.callback();
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('AgentConnection', () => {
  it('backs off from 0.5 s, doubling to 30 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 20].map(reconnectDelayMs)).toEqual([
      500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000,
    ]);
  });

  it('says "not reachable" at once, retries with backoff, and resets it after connecting', async () => {
    const log: string[] = [];
    let available = false;
    let current: FakeConnection | undefined;
    const clock = manualTimers();
    const connection = new AgentConnection(
      async () => {
        if (!available)
          throw new Error('the Gatehouse service is not running (nothing listens on /run/x)');
        current = new FakeConnection();
        return current;
      },
      {
        connected: (snapshot) => log.push(`connected ${JSON.stringify(snapshot)}`),
        disconnected: (reason) => log.push(`disconnected: ${reason}`),
        notification: (method) => log.push(`notification ${method}`),
      },
      clock.timers,
    );
    connection.start();
    await settle();
    expect(log).toEqual([
      'disconnected: the Gatehouse service is not running (nothing listens on /run/x)',
    ]);
    await expect(connection.call('status')).rejects.toThrow(
      /not reachable: the Gatehouse service is not running/,
    );
    await clock.fire();
    await clock.fire();
    expect(clock.pending.map((t) => t.ms)).toEqual([2000]);

    available = true;
    await clock.fire();
    expect(log.at(-1)).toBe(
      'connected {"status":{"mode":"LOCKDOWN"},"events":[{"id":1}],"requests":[]}',
    );
    expect(connection.connected).toBe(true);
    current!.notify?.('event', {});
    expect(log.at(-1)).toBe('notification event');

    current!.drop();
    expect(log.at(-1)).toBe('disconnected: the service closed the connection');
    expect(clock.pending.map((t) => t.ms)).toEqual([500]);
    await clock.fire();
    expect(log.at(-1)).toMatch(/^connected/);
    connection.stop();
    expect(current!.closed).toBe(true);
  });

  it('ignores notifications from a connection it has given up', async () => {
    const log: string[] = [];
    const first = new FakeConnection();
    const clock = manualTimers();
    const connection = new AgentConnection(
      async () => first,
      {
        connected: () => log.push('connected'),
        disconnected: () => log.push('disconnected'),
        notification: (method) => log.push(method),
      },
      clock.timers,
    );
    connection.start();
    await settle();
    first.drop();
    first.drop();
    first.notify?.('event', {});
    expect(log).toEqual(['connected', 'disconnected']);
  });
});
