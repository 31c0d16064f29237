// The menu bar's connection to the service's control socket: subscribed to this user's events,
// requests and status; when the service is not there, retried with backoff (0.5 s doubling to
// 30 s), and the app is told at once so it can say "agent not running".
import type {
  ControlArgs,
  ControlCaller,
  ControlMethod,
  ControlResult,
  EventRecord,
  RequestRecord,
  ServiceStatus,
} from '../../common/control';

/** One connection to the control socket, called through its contract (common/control.ts). */
export interface ControlConnection extends ControlCaller {
  /** Pushes (ControlPushes): taken as unknown, since the app reads them with its own parsers. */
  onNotification(listener: (method: string, params: unknown) => void): unknown;
  onClose(listener: () => void): unknown;
  close(): void;
}

export interface AgentSnapshot {
  readonly status: ServiceStatus | undefined;
  readonly events: readonly EventRecord[];
  readonly requests: readonly RequestRecord[];
}

export interface AgentConnectionListener {
  connected(snapshot: AgentSnapshot): void;
  disconnected(reason: string): void;
  notification(method: string, params: unknown): void;
}

export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const FIRST_RETRY_MS = 500;
const LAST_RETRY_MS = 30_000;

/** The wait before reconnect attempt `attempt` (0-based). */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(LAST_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(attempt, 16));
}

export class NotConnectedError extends Error {
  constructor(reason: string) {
    super(`the Gatehouse service is not reachable: ${reason}`);
    this.name = 'NotConnectedError';
  }
}

export class AgentConnection implements ControlCaller {
  readonly #connect: () => Promise<ControlConnection>;
  readonly #listener: AgentConnectionListener;
  readonly #timers: Timers;
  #connection: ControlConnection | undefined;
  #generation = 0;
  #failures = 0;
  #retry: unknown;
  #stopped = false;
  #lastReason = 'not connected yet';

  constructor(
    connect: () => Promise<ControlConnection>,
    listener: AgentConnectionListener,
    timers: Timers = {
      setTimeout: (callback, ms) => setTimeout(callback, ms),
      clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
    },
  ) {
    this.#connect = connect;
    this.#listener = listener;
    this.#timers = timers;
  }

  get connected(): boolean {
    return this.#connection !== undefined;
  }

  start(): void {
    this.#stopped = false;
    void this.#attempt();
  }

  stop(): void {
    this.#stopped = true;
    this.#generation++;
    if (this.#retry !== undefined) this.#timers.clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#connection?.close();
    this.#connection = undefined;
  }

  /** A call on the current connection; fails at once when there is none. */
  call<M extends ControlMethod>(method: M, ...args: ControlArgs<M>): Promise<ControlResult<M>> {
    if (!this.#connection) return Promise.reject(new NotConnectedError(this.#lastReason));
    return this.#connection.call(method, ...args);
  }

  async #attempt(): Promise<void> {
    this.#retry = undefined;
    const generation = ++this.#generation;
    let connection: ControlConnection | undefined;
    try {
      connection = await this.#connect();
      if (generation !== this.#generation) {
        connection.close();
        return;
      }
      connection.onNotification((method, params) => {
        if (generation === this.#generation) this.#listener.notification(method, params);
      });
      connection.onClose(() => this.#lost(generation, 'the service closed the connection'));
      const subscribed = await connection.call('subscribe');
      const [events, requests] = await Promise.all([
        connection.call('events', { limit: 50 }),
        connection.call('requests.list'),
      ]);
      if (generation !== this.#generation) return;
      this.#connection = connection;
      this.#failures = 0;
      this.#listener.connected({ status: subscribed?.status, events, requests });
    } catch (error) {
      connection?.close();
      this.#lost(generation, (error as Error).message);
    }
  }

  #lost(generation: number, reason: string): void {
    if (generation !== this.#generation || this.#stopped) return;
    this.#generation++;
    this.#connection?.close();
    this.#connection = undefined;
    this.#lastReason = reason;
    this.#listener.disconnected(reason);
    const delay = reconnectDelayMs(this.#failures++);
    this.#retry = this.#timers.setTimeout(() => void this.#attempt(), delay);
  }
}
