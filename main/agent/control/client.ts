// A client of the control socket: requests with replies, and pushed notifications.
import { createConnection, type Socket } from 'node:net';
import type {
  ControlArgs,
  ControlCaller,
  ControlMethod,
  ControlResult,
} from '../../../common/control';

export const DEFAULT_SOCKET_PATH = '/run/gatehouse/gatehouse.sock';
const CONNECT_RETRY_MS = 5_000;

export class ControlError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.name = 'ControlError';
    this.code = code;
  }
}

export class ControlClient implements ControlCaller {
  readonly #socket: Socket;
  readonly #pending = new Map<
    number,
    { resolve(value: unknown): void; reject(error: Error): void }
  >();
  readonly #listeners = new Set<(method: string, params: unknown) => void>();
  readonly #closeListeners = new Set<() => void>();
  #nextId = 1;
  #buffer = '';
  /** Why the service closed this connection, when it said (a refusal, an idle timeout). */
  #closedWith: ControlError | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.#receive(chunk));
    socket.on('close', () => {
      for (const pending of this.#pending.values())
        pending.reject(
          this.#closedWith ?? new Error('control socket: the service closed the connection'),
        );
      this.#pending.clear();
      for (const listener of this.#closeListeners) listener();
    });
    socket.on('error', () => socket.destroy());
  }

  /**
   * Connects; while the service's queue of connections waiting to be accepted is full (EAGAIN:
   * someone is flooding it), tries again for a few seconds.
   */
  static async connect(path: string = DEFAULT_SOCKET_PATH): Promise<ControlClient> {
    const deadline = Date.now() + CONNECT_RETRY_MS;
    for (let delay = 5; ; delay = Math.min(delay * 2, 200)) {
      try {
        return await ControlClient.#connectOnce(path);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'EAGAIN' || Date.now() + delay > deadline) {
          throw new Error(
            code === 'ENOENT' || code === 'ECONNREFUSED'
              ? `the Gatehouse service is not running (nothing listens on ${path})`
              : code === 'EAGAIN'
                ? `the Gatehouse service at ${path} is not accepting connections (tried for ${CONNECT_RETRY_MS / 1000} s); try again later`
                : `cannot reach the Gatehouse service at ${path}: ${(error as Error).message}`,
            { cause: error },
          );
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  static #connectOnce(path: string): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(path);
      socket.once('connect', () => resolve(new ControlClient(socket)));
      socket.once('error', reject);
    });
  }

  /** A method of the contract (common/control.ts): its parameters and answer typed by it. */
  call<M extends ControlMethod>(method: M, ...args: ControlArgs<M>): Promise<ControlResult<M>>;
  /**
   * Anything, as given, answered with whatever comes back: for callers that probe how the
   * service refuses what the contract does not allow.
   */
  call<T = unknown>(method: string, params?: unknown): Promise<T>;
  call(method: string, params?: unknown): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      if (this.#closedWith) return reject(this.#closedWith);
      this.#pending.set(id, { resolve, reject });
      this.#socket.write(
        `${JSON.stringify({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) })}\n`,
      );
    });
  }

  onNotification(listener: (method: string, params: unknown) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Called once when the connection ends, from either side. */
  onClose(listener: () => void): () => void {
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  close(): void {
    this.#socket.end();
    this.#socket.destroy();
  }

  #receive(chunk: string): void {
    this.#buffer += chunk;
    let newline: number;
    while ((newline = this.#buffer.indexOf('\n')) >= 0) {
      const line = this.#buffer.slice(0, newline);
      this.#buffer = this.#buffer.slice(newline + 1);
      let message: {
        id?: number | null;
        result?: unknown;
        error?: { code: number; message: string };
        method?: string;
        params?: unknown;
      };
      try {
        message = JSON.parse(line);
      } catch {
        continue;
      }
      if (message.method) {
        for (const listener of this.#listeners) listener(message.method, message.params);
        continue;
      }
      if (message.id === null && message.error) {
        // Not an answer to a call: the service is closing this connection, and says why.
        this.#closedWith = new ControlError(message.error.code, message.error.message);
        for (const waiting of this.#pending.values()) waiting.reject(this.#closedWith);
        this.#pending.clear();
        continue;
      }
      const pending = typeof message.id === 'number' ? this.#pending.get(message.id) : undefined;
      if (!pending) continue;
      this.#pending.delete(message.id!);
      if (message.error)
        pending.reject(new ControlError(message.error.code, message.error.message));
      else pending.resolve(message.result);
    }
  }
}
