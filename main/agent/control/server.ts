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
import type { Agent } from '../agent';
import { JUSTIFICATION_LIMITS } from '../store/requests';
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
}

type Params = Record<string, unknown>;
interface Method {
  readonly rootOnly?: boolean;
  run(params: Params, caller: Caller, connection: Connection): unknown;
}

const SYNC_INTERVAL_MS = 10_000;
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
}

export class ControlServer {
  readonly #agent: Agent;
  readonly #path: string;
  readonly #peerCredentials: PeerCredentials;
  readonly #connections = new Set<Connection>();
  readonly #lastSync = new Map<number, number>();
  readonly #lastPostureRun = new Map<number, number>();
  readonly #methods: Record<string, Method>;
  #server: Server | undefined;
  #unsubscribe: (() => void) | undefined;

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
  }

  async close(): Promise<void> {
    this.#unsubscribe?.();
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
      socket.destroy(); // no identity, no service
      return;
    }
    const connection: Connection = { socket, caller, subscribed: false };
    this.#connections.add(connection);
    socket.on('close', () => this.#connections.delete(connection));
    socket.on('error', () => socket.destroy());
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line.trim()) this.#handle(connection, line);
      }
      if (Buffer.byteLength(buffer) > MAX_REQUEST_BYTES) {
        this.#send(connection, {
          jsonrpc: '2.0',
          id: null,
          error: {
            code: ERROR.invalidRequest,
            message: `request too large: the limit is ${MAX_REQUEST_BYTES} bytes per line`,
          },
        });
        socket.end();
        buffer = '';
      }
    });
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
        result.then(
          (value: unknown) => this.#reply(connection, id, undefined, value ?? null),
          fail,
        );
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
    if (!connection.socket.destroyed) connection.socket.write(`${JSON.stringify(message)}\n`);
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
        this.#send(connection, { jsonrpc: '2.0', method: 'status', params: this.#agent.status() });
      }
    }
  }

  #defineMethods(): Record<string, Method> {
    const agent = this.#agent;
    const isRoot = (caller: Caller) => caller.uid === 0;
    return {
      status: { run: () => agent.status() },
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
          return { subscribed: true, status: agent.status() };
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
          const created = agent.requests.create(eventId, caller.uid, justification);
          agent.requestChanged(created); // the user's other windows hear of it; the sync sends it
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
          if (now - last < SYNC_INTERVAL_MS) {
            throw new RpcError(
              ERROR.rateLimited,
              `sync was asked for ${Math.round((now - last) / 1000)} s ago; wait ${SYNC_INTERVAL_MS / 1000} s between syncs`,
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
              throw new RpcError(
                ERROR.rateLimited,
                `posture checks were asked for ${Math.round((now - last) / 1000)} s ago; wait ${POSTURE_RUN_INTERVAL_MS / 1000} s between runs`,
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
