// A client of the control socket: requests with replies, and pushed notifications.
import { createConnection, type Socket } from 'node:net';

export const DEFAULT_SOCKET_PATH = '/run/gatehouse/gatehouse.sock';

export class ControlError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.name = 'ControlError';
    this.code = code;
  }
}

export class ControlClient {
  readonly #socket: Socket;
  readonly #pending = new Map<
    number,
    { resolve(value: unknown): void; reject(error: Error): void }
  >();
  readonly #listeners = new Set<(method: string, params: unknown) => void>();
  readonly #closeListeners = new Set<() => void>();
  #nextId = 1;
  #buffer = '';

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.#receive(chunk));
    socket.on('close', () => {
      for (const pending of this.#pending.values())
        pending.reject(new Error('control socket: the service closed the connection'));
      this.#pending.clear();
      for (const listener of this.#closeListeners) listener();
    });
    socket.on('error', () => socket.destroy());
  }

  static connect(path: string = DEFAULT_SOCKET_PATH): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(path);
      socket.once('connect', () => resolve(new ControlClient(socket)));
      socket.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          new Error(
            error.code === 'ENOENT' || error.code === 'ECONNREFUSED'
              ? `the Gatehouse service is not running (nothing listens on ${path})`
              : `cannot reach the Gatehouse service at ${path}: ${error.message}`,
          ),
        ),
      );
    });
  }

  call<T = unknown>(method: string, params?: Record<string, unknown>): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
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
        id?: number;
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
      const pending = typeof message.id === 'number' ? this.#pending.get(message.id) : undefined;
      if (!pending) continue;
      this.#pending.delete(message.id!);
      if (message.error)
        pending.reject(new ControlError(message.error.code, message.error.message));
      else pending.resolve(message.result);
    }
  }
}
