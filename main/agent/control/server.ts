// The control socket: any local user may connect; the kernel says who they are (SO_PEERCRED), and
// what they may do follows from that alone. One bad client never affects another.
import { chmodSync, existsSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import {
  CLIENT_MODES,
  parseRule,
  RuleError,
  type ClientMode,
  type RuleChange,
  type RuleIdentity,
} from '../../../common/rules';
import type { PostureResult } from '../../../common/posture';
import { nativeAddon } from '../../../native/index';
import type { Agent, AgentStatus } from '../agent';
import { countOpenFiles, readOpenFileLimit } from '../limits';
import { JUSTIFICATION_LIMITS } from '../store/requests';
import {
  ConnectionBudget,
  type ConnectionCounts,
  type ConnectionLimits,
  type Refusal,
} from './connections';
import { ERROR, MAX_REQUEST_BYTES, RpcError, type RpcRequest } from './protocol';

export interface Caller {
  readonly pid: number | null;
  readonly uid: number;
  readonly gid: number;
}

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

/** The control socket's own figures, beside the agent's in `status`. */
export interface ControlSocketStatus extends ConnectionCounts {
  readonly limits: ConnectionLimits;
  /** This process's descriptors: held now, and RLIMIT_NOFILE (null where unknown). */
  readonly openFiles: {
    readonly open: number | null;
    readonly soft: number | null;
    readonly hard: number | null;
  };
}

export type ServiceStatus = AgentStatus & { readonly controlSocket: ControlSocketStatus };

type Params = Record<string, unknown>;
interface Method {
  readonly rootOnly?: boolean;
  run(params: Params, caller: Caller, connection: Connection): unknown;
}

/** How long a refused connection waits for its peer to read the reason and close. */
const LINGER_MS = 500;

/** How often one user (other than root, for requests) may start a sync. */
export const SYNC_INTERVAL_MS = 10_000;
/** How often a user other than root may ask for the posture checks to run. */
export const POSTURE_RUN_INTERVAL_MS = 30_000;

function params(value: unknown): Params {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RpcError(ERROR.invalidParams, 'params must be an object');
  }
  return value as Params;
}

function oneOf<T extends string>(p: Params, key: string, allowed: readonly T[]): T {
  const value = p[key];
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw new RpcError(
      ERROR.invalidParams,
      `${key} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value) ?? 'nothing'}`,
    );
  }
  return value as T;
}

function text(p: Params, key: string, max: number, required = true): string | undefined {
  const value = p[key];
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw new RpcError(ERROR.invalidParams, `${key} must be a string of 1 to ${max} characters`);
  }
  return value;
}

function integer(p: Params, key: string, min: number, max: number, fallback?: number): number {
  const value = p[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RpcError(ERROR.invalidParams, `${key} must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** A rule from the caller, through the one rule constructor: what the native table accepts. */
function ruleParams(p: Params, allowRemove: false): RuleIdentity;
function ruleParams(p: Params, allowRemove: true): RuleChange;
function ruleParams(p: Params, allowRemove: boolean): RuleChange {
  try {
    return allowRemove
      ? parseRule({ type: p.type, identifier: p.identifier, policy: p.policy }, true)
      : parseRule({ type: p.type, identifier: p.identifier, policy: p.policy });
  } catch (error) {
    if (error instanceof RuleError) throw new RpcError(ERROR.invalidParams, error.message);
    throw error;
  }
}

function sha256(p: Params, key = 'sha256'): string {
  const value = p[key];
  if (typeof value !== 'string' || !/^[0-9a-fA-F]{64}$/.test(value)) {
    throw new RpcError(ERROR.invalidParams, `${key} must be a SHA-256 (64 hex digits)`);
  }
  return value.toLowerCase();
}

/** What the control socket asks of the rest of the service. */
export interface ControlHooks {
  /** Starts a sync (the `sync` method); without it, `sync` says there is no sync client. */
  readonly requestSync?: () => void;
  /** Runs the posture checks now and answers with the results (`posture.run`). */
  readonly runPosture?: () => Promise<PostureResult[]>;
  /** Sends a user's answer to the helpdesk's question to the backend (`requests.reply`). */
  readonly sendReply?: (requestId: number, body: string) => Promise<unknown>;
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
  readonly #syncIntervalMs: number;
  readonly #lastSync = new Map<number, number>();
  /** A sync a user's new request will start when that user's sync interval has passed. */
  readonly #deferredSyncs = new Map<number, NodeJS.Timeout>();
  readonly #lastPostureRun = new Map<number, number>();
  readonly #methods: Record<string, Method>;
  #server: Server | undefined;
  #unsubscribe: (() => void) | undefined;
  #sweep: NodeJS.Timeout | undefined;
  /** Refused sockets waiting for their peer to close. */
  #lingering = 0;
  #openFiles: { at: number; open: number | null } = { at: 0, open: null };

  readonly #requestSync: (() => void) | undefined;
  readonly #runPosture: (() => Promise<PostureResult[]>) | undefined;
  readonly #sendReply: ((requestId: number, body: string) => Promise<unknown>) | undefined;

  constructor(
    agent: Agent,
    path: string,
    peerCredentials: PeerCredentials = (fd) => nativeAddon().peerCredentials(fd),
    hooks: ControlHooks = {},
  ) {
    this.#agent = agent;
    this.#path = path;
    this.#peerCredentials = peerCredentials;
    this.#requestSync = hooks.requestSync;
    this.#runPosture = hooks.runPosture;
    this.#sendReply = hooks.sendReply;
    this.#budget = new ConnectionBudget(hooks.limits);
    this.#syncIntervalMs = hooks.syncIntervalMs ?? SYNC_INTERVAL_MS;
    this.#methods = this.#defineMethods();
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
    for (const timer of this.#deferredSyncs.values()) clearTimeout(timer);
    this.#deferredSyncs.clear();
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
        ERROR.invalidRequest,
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
  #refuse(socket: Socket, message: string, code: number = ERROR.tooManyConnections): void {
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
    if (Buffer.byteLength(line) > MAX_REQUEST_BYTES) {
      this.#reply(
        connection,
        null,
        new RpcError(
          ERROR.invalidRequest,
          `request too large: the limit is ${MAX_REQUEST_BYTES} bytes per line`,
        ),
      );
      return;
    }
    let request: RpcRequest;
    try {
      request = JSON.parse(line) as RpcRequest;
    } catch {
      this.#reply(
        connection,
        null,
        new RpcError(ERROR.parse, 'parse error: each line must be one JSON-RPC 2.0 request'),
      );
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
          ERROR.invalidRequest,
          'invalid request: need {"jsonrpc":"2.0","id":…,"method":…}',
        ),
      );
      return;
    }
    const method = Object.hasOwn(this.#methods, request.method)
      ? this.#methods[request.method]
      : undefined;
    if (!method) {
      this.#reply(
        connection,
        id,
        new RpcError(ERROR.methodNotFound, `unknown method ${JSON.stringify(request.method)}`),
      );
      return;
    }
    if (method.rootOnly && connection.caller.uid !== 0) {
      this.#reply(
        connection,
        id,
        new RpcError(ERROR.forbidden, `permission denied: ${request.method} needs root`),
      );
      return;
    }
    const fail = (error: unknown) =>
      this.#reply(
        connection,
        id,
        error instanceof RpcError
          ? error
          : new RpcError(ERROR.internal, `internal error: ${(error as Error).message}`),
      );
    try {
      const result = method.run(params(request.params), connection.caller, connection);
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

  #push(message: Parameters<Parameters<Agent['onMessage']>[0]>[0]): void {
    for (const connection of this.#connections) {
      if (!connection.subscribed) continue;
      if (message.kind === 'event' || message.kind === 'request') {
        if (message.uid !== connection.caller.uid) continue; // only one's own, root included
        this.#send(connection, {
          jsonrpc: '2.0',
          method: message.kind,
          params: message.kind === 'event' ? message.event : message.request,
        });
      } else {
        this.#send(connection, { jsonrpc: '2.0', method: 'status', params: this.status() });
      }
    }
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

  #refused(kind: Refusal, error: RpcError): RpcError {
    this.#budget.count(kind);
    return error;
  }

  /**
   * Starts the sync a user's new request asks for, within that user's sync interval: at once
   * when it has passed, else once when it does (the request waits queued meanwhile). root's go
   * at once, as root may run the posture checks at any time.
   */
  #syncForRequest(uid: number): void {
    const requestSync = this.#requestSync;
    if (!requestSync || !this.#agent.config.syncBaseUrl) return;
    if (uid === 0) return requestSync();
    const now = Date.now();
    const wait = (this.#lastSync.get(uid) ?? 0) + this.#syncIntervalMs - now;
    if (wait <= 0) {
      this.#lastSync.set(uid, now);
      return requestSync();
    }
    if (this.#deferredSyncs.has(uid)) return;
    const timer = setTimeout(() => {
      this.#deferredSyncs.delete(uid);
      this.#lastSync.set(uid, Date.now());
      requestSync();
    }, wait);
    timer.unref();
    this.#deferredSyncs.set(uid, timer);
  }

  #defineMethods(): Record<string, Method> {
    const agent = this.#agent;
    const isRoot = (caller: Caller) => caller.uid === 0;
    return {
      status: { run: () => this.status() },
      events: {
        run: (p, caller) =>
          agent.events.list({
            ...(isRoot(caller) ? {} : { uid: caller.uid }),
            limit: integer(p, 'limit', 1, 1000, 50),
          }),
      },
      fileinfo: {
        // The caller hashes the file itself (it may read it; we must not read it for them).
        run: (p) => {
          // The file's MD5 (read by the caller too) decides package trust, as it does natively.
          if (
            p.md5 !== undefined &&
            (typeof p.md5 !== 'string' || !/^[0-9a-fA-F]{32}$/.test(p.md5))
          )
            throw new RpcError(ERROR.invalidParams, 'md5 must be an MD5 (32 hex digits)');
          return agent.explain({
            sha256: sha256(p),
            ...(typeof p.md5 === 'string' ? { md5: p.md5.toLowerCase() } : {}),
            ...(typeof p.path === 'string' ? { path: p.path } : {}),
          });
        },
      },
      subscribe: {
        run: (_p, _caller, connection) => {
          connection.subscribed = true;
          return { subscribed: true, status: this.status() };
        },
      },
      'requests.create': {
        run: (p, caller) => {
          const eventId = integer(p, 'eventId', 1, Number.MAX_SAFE_INTEGER);
          const justification = text(p, 'justification', JUSTIFICATION_LIMITS.max)!.trim();
          if (justification.length < JUSTIFICATION_LIMITS.min) {
            throw new RpcError(
              ERROR.invalidParams,
              `justification must be at least ${JUSTIFICATION_LIMITS.min} characters`,
            );
          }
          const event = agent.events.get(eventId);
          if (!event || (event.uid !== caller.uid && !isRoot(caller))) {
            throw new RpcError(ERROR.notFound, `no event ${eventId} of yours`);
          }
          // One request per event and user: asking again answers with the first one, and
          // starts nothing.
          const existing = agent.requests.forEvent(eventId, caller.uid);
          if (existing) {
            this.#budget.count('duplicateRequest');
            return existing;
          }
          const created = agent.requests.create(eventId, caller.uid, justification);
          agent.requestChanged(created); // the user's other windows hear of it
          this.#syncForRequest(caller.uid);
          return created;
        },
      },
      'requests.reply': {
        run: (p, caller) => {
          const requestId = integer(p, 'requestId', 1, Number.MAX_SAFE_INTEGER);
          const body = text(p, 'text', JUSTIFICATION_LIMITS.max)!.trim();
          if (!body) throw new RpcError(ERROR.invalidParams, 'text must not be blank');
          const request = agent.requests.get(requestId);
          if (!request || (request.uid !== caller.uid && !isRoot(caller))) {
            throw new RpcError(ERROR.notFound, `no request ${requestId} of yours`);
          }
          if (request.state !== 'needs-info') {
            throw new RpcError(
              ERROR.invalidParams,
              `request ${requestId} has no question from the helpdesk to answer (it is ${request.state})`,
            );
          }
          if (!this.#sendReply) {
            throw new RpcError(ERROR.internal, 'this service runs without a sync client');
          }
          return this.#sendReply(requestId, body).catch((error: Error) => {
            throw new RpcError(ERROR.internal, error.message);
          });
        },
      },
      'requests.list': {
        run: (_p, caller) => agent.requests.list(isRoot(caller) ? undefined : caller.uid),
      },
      'rules.list': {
        rootOnly: true,
        run: (p) =>
          agent.rules.list(
            integer(p, 'limit', 1, 10_000, 1000),
            integer(p, 'offset', 0, Number.MAX_SAFE_INTEGER, 0),
          ),
      },
      'rules.add': {
        rootOnly: true,
        run: (p) => {
          const rule = ruleParams(p, false);
          const customMsg = text(p, 'customMsg', 1000, false);
          const comment = text(p, 'comment', 1000, false);
          agent.rules.apply(
            [{ ...rule, customMsg: customMsg ?? null, comment: comment ?? null }],
            'local',
          );
          return agent.rules.get(rule.type, rule.identifier);
        },
      },
      'rules.remove': {
        rootOnly: true,
        run: (p) => {
          let rule: RuleChange;
          try {
            rule = ruleParams({ ...p, policy: 'REMOVE' }, true);
          } catch (error) {
            // A row the rule constructor refuses (from an older version, or a damaged disk) was
            // never in the native table; naming it exactly is how it leaves the store.
            const removed =
              typeof p.type === 'string' && typeof p.identifier === 'string'
                ? agent.rules.removeUnusable(p.type, p.identifier)
                : 0;
            if (removed > 0) return { put: 0, removed };
            throw error;
          }
          return agent.rules.apply([rule], 'local');
        },
      },
      setMode: {
        rootOnly: true,
        run: (p) => {
          agent.setMode(oneOf<ClientMode>(p, 'mode', CLIENT_MODES));
          return { mode: agent.mode };
        },
      },
      flushCache: {
        rootOnly: true,
        run: () => {
          agent.monitor.flushCache();
          return { flushed: true };
        },
      },
      sync: {
        run: (_p, caller) => {
          const now = Date.now();
          const last = this.#lastSync.get(caller.uid) ?? 0;
          if (now - last < this.#syncIntervalMs) {
            throw this.#refused(
              'rateLimited',
              new RpcError(
                ERROR.rateLimited,
                `a sync was started for you ${Math.round((now - last) / 1000)} s ago (by sync or a new request); wait ${this.#syncIntervalMs / 1000} s between syncs`,
              ),
            );
          }
          this.#lastSync.set(caller.uid, now);
          if (!agent.config.syncBaseUrl)
            return { started: false, reason: 'SyncBaseURL is not set in the config' };
          if (!this.#requestSync)
            return { started: false, reason: 'this service runs without a sync client' };
          this.#requestSync();
          return { started: true };
        },
      },
      'posture.run': {
        // Runs every check now and answers with the results; root may ask at any time.
        run: (_p, caller) => {
          if (!this.#runPosture)
            throw new RpcError(ERROR.internal, 'this service runs without posture checks');
          if (!isRoot(caller)) {
            const now = Date.now();
            const last = this.#lastPostureRun.get(caller.uid) ?? 0;
            if (now - last < POSTURE_RUN_INTERVAL_MS) {
              throw this.#refused(
                'rateLimited',
                new RpcError(
                  ERROR.rateLimited,
                  `posture checks were asked for ${Math.round((now - last) / 1000)} s ago; wait ${POSTURE_RUN_INTERVAL_MS / 1000} s between runs`,
                ),
              );
            }
            this.#lastPostureRun.set(caller.uid, now);
          }
          return this.#runPosture();
        },
      },
    };
  }
}
