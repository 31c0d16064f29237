// The control socket: any local user may connect; the kernel says who they are (SO_PEERCRED), and
// what they may do follows from that alone. One bad client never affects another.
import { chmodSync, existsSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import {
  checkParams,
  CONTROL_METHODS,
  isControlMethod,
  MAX_REQUEST_BYTES,
  ParamsError,
  RPC_ERROR,
  type CheckedParams,
  type ControlMethod,
  type ControlPushes,
  type ControlSocketStatus,
  type RequestRecord,
  type ServiceStatus,
} from '../../../common/control';
import type { PostureResult } from '../../../common/posture';
import { nativeAddon } from '../../../native/index';
import type { Agent, AgentMessage } from '../agent';
import { countOpenFiles, readOpenFileLimit } from '../limits';
import { ConnectionBudget, type ConnectionLimits } from './connections';
import { controlHandlers, type CallContext, type Handlers } from './methods';
import { POSTURE_RUN_INTERVAL_MS, SYNC_INTERVAL_MS, SyncPace, UserPace } from './pace';
import { RpcError, type Caller, type RpcRequest } from './protocol';

export type { Caller, ControlSocketStatus, ServiceStatus };
export { POSTURE_RUN_INTERVAL_MS, SYNC_INTERVAL_MS };

type PeerCredentials = (fd: number) => Caller;

interface Connection {
  readonly socket: Socket;
  readonly caller: Caller;
  subscribed: boolean;
  /** Received and not yet handled: at most one line past MAX_REQUEST_BYTES. */
  input: string;
  /** Reading stopped because the peer does not read its replies. */
  paused: boolean;
  /** When it last sent something or took its replies. */
  lastActive: number;
  /** Calls still being answered (posture.run, requests.reply). */
  calls: number;
}

/** How long a refused connection waits for its peer to read the reason and close. */
const LINGER_MS = 500;

/** What the control socket asks of the rest of the service. */
export interface ControlHooks {
  /** Starts a sync (the `sync` method); without it, `sync` says there is no sync client. */
  readonly requestSync?: () => void;
  /** Runs the posture checks now and answers with the results (`posture.run`). */
  readonly runPosture?: () => Promise<PostureResult[]>;
  /** Sends a user's answer to the helpdesk's question to the backend (`requests.reply`). */
  readonly sendReply?: (requestId: number, body: string) => Promise<RequestRecord>;
  /** What a connection may cost (tests make them small); CONNECTION_LIMITS otherwise. */
  readonly limits?: Partial<ConnectionLimits>;
  /** How often one user may start a sync (SYNC_INTERVAL_MS). */
  readonly syncIntervalMs?: number;
}

export class ControlServer {
  readonly #agent: Agent;
  readonly #path: string;
  readonly #peerCredentials: PeerCredentials;
  readonly #connections = new Set<Connection>();
  readonly #budget: ConnectionBudget;
  readonly #syncs: SyncPace;
  readonly #handlers: Handlers;
  #server: Server | undefined;
  #unsubscribe: (() => void) | undefined;
  #sweep: NodeJS.Timeout | undefined;
  /** Refused sockets waiting for their peer to close. */
  #lingering = 0;
  #openFiles: { at: number; open: number | null } = { at: 0, open: null };

  constructor(
    agent: Agent,
    path: string,
    peerCredentials: PeerCredentials = (fd) => nativeAddon().peerCredentials(fd),
    hooks: ControlHooks = {},
  ) {
    this.#agent = agent;
    this.#path = path;
    this.#peerCredentials = peerCredentials;
    this.#budget = new ConnectionBudget(hooks.limits);
    this.#syncs = new SyncPace(hooks.syncIntervalMs ?? SYNC_INTERVAL_MS, hooks.requestSync);
    this.#handlers = controlHandlers({
      agent,
      status: () => this.status(),
      count: (kind) => this.#budget.count(kind),
      syncs: this.#syncs,
      postureRuns: new UserPace(POSTURE_RUN_INTERVAL_MS),
      runPosture: hooks.runPosture,
      sendReply: hooks.sendReply,
    });
  }

  async listen(): Promise<void> {
    mkdirSync(dirname(this.#path), { recursive: true, mode: 0o755 });
    if (existsSync(this.#path)) {
      if (!lstatSync(this.#path).isSocket()) {
        throw new Error(
          `control socket: ${this.#path} exists and is not a socket; move it away or set SocketPath`,
        );
      }
      unlinkSync(this.#path); // a stale socket from a previous run
    }
    const server = createServer((socket) => this.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#path, () => resolve());
    });
    chmodSync(this.#path, 0o666); // any local user may connect; the kernel tells us who they are
    this.#server = server;
    this.#unsubscribe = this.#agent.onMessage((message) => this.#push(message));
    const idleMs = this.#budget.limits.idleMs;
    this.#sweep = setInterval(() => this.#closeIdle(), Math.max(50, Math.min(idleMs / 4, 5_000)));
    this.#sweep.unref();
  }

  async close(): Promise<void> {
    this.#unsubscribe?.();
    if (this.#sweep) clearInterval(this.#sweep);
    this.#syncs.close();
    for (const connection of this.#connections) connection.socket.destroy();
    await new Promise<void>((resolve) =>
      this.#server ? this.#server.close(() => resolve()) : resolve(),
    );
  }

  #accept(socket: Socket): void {
    let caller: Caller;
    try {
      const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
      if (typeof fd !== 'number' || fd < 0) throw new Error('no descriptor');
      caller = this.#peerCredentials(fd);
    } catch {
      this.#budget.count('noCredentials');
      socket.destroy(); // no identity, no service
      return;
    }
    const refusal = this.#budget.admit(caller.uid);
    if (refusal) {
      this.#refuse(socket, refusal);
      return;
    }
    const connection: Connection = {
      socket,
      caller,
      subscribed: false,
      input: '',
      paused: false,
      lastActive: Date.now(),
      calls: 0,
    };
    this.#connections.add(connection);
    socket.on('close', () => {
      this.#connections.delete(connection);
      this.#budget.release(caller.uid);
    });
    socket.on('error', () => socket.destroy());
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      connection.input += chunk;
      connection.lastActive = Date.now();
      this.#pump(connection);
    });
    socket.on('drain', () => {
      connection.lastActive = Date.now();
      this.#pump(connection);
    });
  }

  /**
   * Handles the requests received so far, as long as the peer takes its replies: past
   * pauseBytes of unread replies, its socket is no longer read (the kernel holds what it sends
   * next, and its writes block) until they drain.
   */
  #pump(connection: Connection): void {
    const { socket } = connection;
    let newline: number;
    while (!socket.destroyed && (newline = connection.input.indexOf('\n')) >= 0) {
      if (socket.writableLength > this.#budget.limits.pauseBytes) {
        if (!connection.paused) {
          connection.paused = true;
          socket.pause();
        }
        return;
      }
      const line = connection.input.slice(0, newline);
      connection.input = connection.input.slice(newline + 1);
      if (line.trim()) this.#handle(connection, line);
    }
    if (socket.destroyed) return;
    if (Buffer.byteLength(connection.input) > MAX_REQUEST_BYTES) {
      this.#budget.count('oversized');
      connection.input = '';
      this.#connections.delete(connection);
      this.#refuse(
        socket,
        `request too large: the limit is ${MAX_REQUEST_BYTES} bytes per line`,
        RPC_ERROR.invalidRequest,
      );
      return;
    }
    if (connection.paused) {
      connection.paused = false;
      socket.resume();
    }
  }

  /**
   * Says why in one JSON-RPC error line, then closes. The socket lingers, read and discarded,
   * until the peer closes its end (at most LINGER_MS): closed at once, the peer's request would
   * meet a closed socket and the line would be lost. Past `lingering` at once (a flood) it
   * closes as soon as the line is written, so refusals never hold descriptors.
   */
  #refuse(socket: Socket, message: string, code: number = RPC_ERROR.tooManyConnections): void {
    const line = `${JSON.stringify({ jsonrpc: '2.0', id: null, error: { code, message } })}\n`;
    socket.on('error', () => socket.destroy());
    if (this.#lingering >= this.#budget.limits.lingering) {
      socket.end(line, () => socket.destroy());
      // A fresh socket's send buffer takes the line at once; one whose peer does not read would
      // never finish, and the peer would never see the line anyway.
      if (socket.writableLength > 0) socket.destroy();
      return;
    }
    this.#lingering++;
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('close', () => {
      clearTimeout(timer);
      this.#lingering--;
    });
    socket.removeAllListeners('data');
    socket.removeAllListeners('drain');
    socket.on('data', () => undefined);
    socket.resume();
    socket.end(line);
  }

  /** Closes connections that hold a slot and do nothing: not subscribed, nothing sent lately. */
  #closeIdle(): void {
    const idleMs = this.#budget.limits.idleMs;
    const now = Date.now();
    for (const connection of this.#connections) {
      if (connection.subscribed || connection.calls > 0 || connection.socket.destroyed) continue;
      if (now - connection.lastActive < idleMs) continue;
      this.#budget.count('idle');
      this.#connections.delete(connection);
      this.#refuse(
        connection.socket,
        `closed: idle for ${Math.round(idleMs / 1000)} s without a request or a subscription; connect again when you need the service`,
      );
    }
  }

  #handle(connection: Connection, line: string): void {
    const request = this.#readRequest(line);
    if (request instanceof RpcError) {
      this.#reply(connection, null, request);
      return;
    }
    const id =
      typeof request?.id === 'string' || typeof request?.id === 'number' ? request.id : null;
    if (
      typeof request !== 'object' ||
      request === null ||
      request.jsonrpc !== '2.0' ||
      typeof request.method !== 'string'
    ) {
      this.#reply(
        connection,
        id,
        new RpcError(
          RPC_ERROR.invalidRequest,
          'invalid request: need {"jsonrpc":"2.0","id":…,"method":…}',
        ),
      );
      return;
    }
    const fail = (error: unknown) => this.#reply(connection, id, asRpcError(error));
    try {
      const result = this.#call(connection, request.method, request.params);
      if (result instanceof Promise) {
        // A method that waits (on the backend) answers when it is done; others go on meanwhile.
        connection.calls++;
        result
          .then((value: unknown) => this.#reply(connection, id, undefined, value ?? null), fail)
          .finally(() => {
            connection.calls--;
            connection.lastActive = Date.now();
          });
      } else {
        this.#reply(connection, id, undefined, result ?? null);
      }
    } catch (error) {
      fail(error);
    }
  }

  /** One line as JSON, or the error that answers it. */
  #readRequest(line: string): RpcRequest | RpcError {
    if (Buffer.byteLength(line) > MAX_REQUEST_BYTES)
      return new RpcError(
        RPC_ERROR.invalidRequest,
        `request too large: the limit is ${MAX_REQUEST_BYTES} bytes per line`,
      );
    try {
      return JSON.parse(line) as RpcRequest;
    } catch {
      return new RpcError(
        RPC_ERROR.parse,
        'parse error: each line must be one JSON-RPC 2.0 request',
      );
    }
  }

  /** Runs a method of the contract, once the caller may and its parameters fit the declaration. */
  #call(connection: Connection, name: string, params: unknown): unknown {
    if (!isControlMethod(name))
      throw new RpcError(RPC_ERROR.methodNotFound, `unknown method ${JSON.stringify(name)}`);
    if (CONTROL_METHODS[name].rootOnly && connection.caller.uid !== 0)
      throw new RpcError(RPC_ERROR.forbidden, `permission denied: ${name} needs root`);
    return this.#run(name, checkParams(name, params), connection);
  }

  #run<M extends ControlMethod>(
    name: M,
    params: CheckedParams<M>,
    connection: Connection,
  ): unknown {
    const handler = this.#handlers[name] as (
      params: CheckedParams<M>,
      context: CallContext,
    ) => unknown;
    return handler(params, {
      caller: connection.caller,
      subscribe: () => (connection.subscribed = true),
    });
  }

  #reply(
    connection: Connection,
    id: string | number | null,
    error?: RpcError,
    result?: unknown,
  ): void {
    this.#send(
      connection,
      error
        ? { jsonrpc: '2.0', id, error: { code: error.code, message: error.message } }
        : { jsonrpc: '2.0', id, result },
    );
  }

  #send(connection: Connection, message: unknown): void {
    const { socket } = connection;
    if (socket.destroyed) return;
    // Reading stops at pauseBytes; what still piles up (pushes, answers that took a while) past
    // dropBytes means the peer is not reading at all.
    if (socket.writableLength > this.#budget.limits.dropBytes) {
      this.#budget.count('unreadReplies');
      socket.destroy();
      return;
    }
    socket.write(`${JSON.stringify(message)}\n`);
  }

  #push(message: AgentMessage): void {
    for (const connection of this.#connections) {
      if (!connection.subscribed) continue;
      if (message.kind === 'event') {
        // Only one's own, root included.
        if (message.uid === connection.caller.uid) this.#notify(connection, 'event', message.event);
      } else if (message.kind === 'request') {
        if (message.uid === connection.caller.uid)
          this.#notify(connection, 'request', message.request);
      } else if (message.kind === 'rule') {
        if (message.uid === connection.caller.uid) this.#notify(connection, 'rule', message.notice);
      } else {
        this.#notify(connection, 'status', this.status());
      }
    }
  }

  #notify<K extends keyof ControlPushes>(
    connection: Connection,
    method: K,
    params: ControlPushes[K],
  ): void {
    this.#send(connection, { jsonrpc: '2.0', method, params });
  }

  /** The agent's status with the control socket's own figures. */
  status(): ServiceStatus {
    const now = Date.now();
    // A directory listing per status call would be paid for by whoever floods `status`.
    if (now - this.#openFiles.at > 1_000)
      this.#openFiles = { at: now, open: countOpenFiles() ?? null };
    const limit = readOpenFileLimit();
    const paused = [...this.#connections].filter((connection) => connection.paused).length;
    return {
      ...this.#agent.status(),
      controlSocket: {
        ...this.#budget.counts(paused),
        limits: this.#budget.limits,
        openFiles: {
          open: this.#openFiles.open,
          soft: limit && Number.isFinite(limit.soft) ? limit.soft : null,
          hard: limit && Number.isFinite(limit.hard) ? limit.hard : null,
        },
      },
    };
  }
}

function asRpcError(error: unknown): RpcError {
  if (error instanceof RpcError) return error;
  if (error instanceof ParamsError) return new RpcError(RPC_ERROR.invalidParams, error.message);
  return new RpcError(RPC_ERROR.internal, `internal error: ${(error as Error).message}`);
}
