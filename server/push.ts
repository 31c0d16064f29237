// Push to machines: "rules changed" and "request updated", sent down each machine's event
// stream. On PostgreSQL every server process hears every change through LISTEN/NOTIFY, so a
// machine connected to one process hears of an approval clicked on another; on SQLite there is
// one process, and the hub is in memory.
//
// Streams are bounded: one per machine (a new one closes the one held before, on any process:
// the opening is announced on the same channel), at most `maxStreams` per process, and a stream
// whose token no longer matches its machine (re-enrolled, removed) is closed by `sweep`.
import { randomUUID } from 'node:crypto';
import pg from 'pg';

export type PushKind = 'rules-changed' | 'request-updated' | 'settings-changed';
/** Which machines: all of them, some by id, or those whose primary user is one of these. */
export type PushTarget =
  { all: true } | { machines: string[] } | { users: string[] } | { tags: string[] };
export interface PushMessage {
  readonly kind: PushKind;
  readonly target: PushTarget;
  readonly detail?: Record<string, unknown>;
}

/** A machine's stream as the hub holds it. */
export interface Subscriber {
  readonly machineId: string;
  readonly primaryUser: string | null;
  readonly tags: readonly string[];
  /** The SHA-256 of the token the stream was opened with (absent: not checked by `sweep`). */
  readonly tokenHash?: string;
  send(message: PushMessage): void;
  /** Ends the stream; `why` is sent to the machine as a last comment. */
  close?(why: string): void;
}

/** Why a stream was closed by the hub, for the counters in plugins/metrics.ts. */
export type CloseReason = 'replaced' | 'token-changed';

export interface PushObserver {
  /** A message reached `delivered` streams, `seconds` after it was published. */
  fanout(seconds: number, delivered: number): void;
  closed(reason: CloseReason): void;
}

/** A stream refused because this process holds `maxStreams` already. */
export class StreamCapReached extends Error {
  constructor(
    readonly held: number,
    readonly retryAfterS: number,
  ) {
    super(
      `this server holds ${held} push streams, its limit; sync on your schedule and open the stream again after ${retryAfterS} s`,
    );
  }
}

export interface PushOptions {
  /** Streams one server process holds at most (GATEHOUSE_MAX_STREAMS). */
  readonly maxStreams?: number;
  /** The Retry-After given to a stream refused at the cap. */
  readonly retryAfterS?: number;
  /** How often held streams' tokens are checked against their machines (routes/machine/stream.ts). */
  readonly tokenCheckMs?: number;
  /** Follow-up syncs a second this process spreads a broadcast's herd to (see `#receive`). */
  readonly herdSyncsPerS?: number;
}

/**
 * A push to many machines (all, a user's, a tag's) makes each of them sync. Sent to every stream
 * at once, they would all sync at once: the push carries `spread_ms`, the window over which each
 * machine picks a random moment for its sync (main/agent/sync/scheduler.ts), sized so that this
 * process sees about this many syncs a second, and at most SPREAD_MAX_MS. A push to named
 * machines (an approval for one machine, a request's answer) carries none: it syncs at once.
 */
export const HERD_SYNCS_PER_S = 500;
export const SPREAD_MAX_MS = 120_000;

export const DEFAULT_MAX_STREAMS = 20_000;

/** What travels on the channel: a push, or the news that a machine opened a stream somewhere. */
type Wire =
  (PushMessage & { at: number }) | { opened: { machineId: string; hub: string; at: number } };

type Held = { subscriber: Subscriber; openedAt: number };

const CHANNEL = 'gatehouse_push';

export class PushHub {
  readonly #streams = new Map<string, Held>();
  readonly #id = randomUUID();
  readonly #maxStreams: number;
  readonly #retryAfterS: number;
  readonly tokenCheckMs: number;
  readonly #herdSyncsPerS: number;
  #listener: pg.Client | undefined;
  /** Notifications go out on their own connections, so a burst never queues behind LISTEN's. */
  #notifier: pg.Pool | undefined;
  readonly #databaseUrl: string | undefined;
  observer: PushObserver | undefined;

  constructor(databaseUrl?: string, options: PushOptions = {}) {
    this.#databaseUrl = databaseUrl;
    this.#maxStreams = options.maxStreams ?? DEFAULT_MAX_STREAMS;
    this.#retryAfterS = options.retryAfterS ?? 60;
    this.tokenCheckMs = options.tokenCheckMs ?? 10_000;
    this.#herdSyncsPerS = options.herdSyncsPerS ?? HERD_SYNCS_PER_S;
  }

  /** On PostgreSQL: listen for changes made by any server process. */
  async start(): Promise<void> {
    if (!this.#databaseUrl) return;
    const client = new pg.Client({ connectionString: this.#databaseUrl });
    await client.connect();
    client.on('notification', (notification) => {
      if (notification.channel !== CHANNEL || !notification.payload) return;
      try {
        this.#receive(JSON.parse(notification.payload) as Wire);
      } catch {
        // a payload we did not write: ignore
      }
    });
    client.on('error', () => undefined);
    await client.query(`LISTEN ${CHANNEL}`);
    this.#listener = client;
    this.#notifier = new pg.Pool({ connectionString: this.#databaseUrl, max: 2 });
    this.#notifier.on('error', () => undefined);
  }

  async stop(): Promise<void> {
    await this.#listener?.end();
    await this.#notifier?.end();
    this.#listener = undefined;
    this.#notifier = undefined;
  }

  get maxStreams(): number {
    return this.#maxStreams;
  }

  /**
   * Holds a machine's stream, closing the one it held before here and, through the channel, on
   * other processes. Throws StreamCapReached when this process holds its limit.
   */
  subscribe(subscriber: Subscriber): () => void {
    const before = this.#streams.get(subscriber.machineId);
    if (!before && this.#streams.size >= this.#maxStreams)
      throw new StreamCapReached(this.#streams.size, this.#retryAfterS);
    const held = { subscriber, openedAt: Date.now() };
    this.#streams.set(subscriber.machineId, held);
    if (before) this.#close(before, 'replaced');
    if (this.#listener)
      this.#notify({
        opened: { machineId: subscriber.machineId, hub: this.#id, at: held.openedAt },
      }).catch(() => undefined); // the other processes' streams then live until their sweep
    return () => {
      if (this.#streams.get(subscriber.machineId) === held)
        this.#streams.delete(subscriber.machineId);
    };
  }

  get connected(): number {
    return this.#streams.size;
  }

  /** Called after a change has committed. */
  async publish(message: PushMessage): Promise<void> {
    const wire = { ...message, at: Date.now() };
    if (this.#listener) await this.#notify(wire);
    else this.#receive(wire);
  }

  /**
   * Closes the streams whose token is no longer their machine's: `tokens` gives the current
   * token hash of each machine id asked (none for a machine that is gone).
   */
  async sweep(tokens: (machineIds: string[]) => Promise<Map<string, string>>): Promise<number> {
    const held = [...this.#streams.values()];
    let closed = 0;
    for (let offset = 0; offset < held.length; offset += 500) {
      const batch = held.slice(offset, offset + 500);
      const current = await tokens(batch.map((h) => h.subscriber.machineId));
      for (const entry of batch) {
        const token = entry.subscriber.tokenHash;
        if (token === undefined || current.get(entry.subscriber.machineId) === token) continue;
        if (this.#streams.get(entry.subscriber.machineId) !== entry) continue;
        this.#streams.delete(entry.subscriber.machineId);
        this.#close(entry, 'token-changed');
        closed++;
      }
    }
    return closed;
  }

  async #notify(wire: Wire): Promise<void> {
    await this.#notifier!.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify(wire)]);
  }

  #close(held: Held, reason: CloseReason): void {
    held.subscriber.close?.(
      reason === 'replaced'
        ? 'this machine opened another stream'
        : "this stream's token is no longer valid: enroll again",
    );
    this.observer?.closed(reason);
  }

  #receive(wire: Wire): void {
    if ('opened' in wire) return this.#openedElsewhere(wire.opened);
    // A message for named machines finds their streams by id instead of visiting every stream.
    const reached =
      'machines' in wire.target
        ? wire.target.machines.flatMap((id) => this.#streams.get(id) ?? [])
        : [...this.#streams.values()].filter(({ subscriber }) => reaches(wire.target, subscriber));
    const spreadMs =
      'machines' in wire.target
        ? 0
        : Math.min(SPREAD_MAX_MS, Math.round((reached.length / this.#herdSyncsPerS) * 1000));
    const detail = spreadMs > 0 ? { ...wire.detail, spread_ms: spreadMs } : wire.detail;
    const message = { kind: wire.kind, target: wire.target, ...(detail ? { detail } : {}) };
    for (const { subscriber } of reached) subscriber.send(message);
    this.observer?.fanout((Date.now() - wire.at) / 1000, reached.length);
  }

  /** Another process holds this machine's newer stream: the one here goes. */
  #openedElsewhere(opened: { machineId: string; hub: string; at: number }): void {
    if (opened.hub === this.#id) return;
    const held = this.#streams.get(opened.machineId);
    if (!held || held.openedAt > opened.at) return;
    this.#streams.delete(opened.machineId);
    this.#close(held, 'replaced');
  }
}

function reaches(target: PushTarget, subscriber: Subscriber): boolean {
  return (
    'all' in target ||
    ('machines' in target && target.machines.includes(subscriber.machineId)) ||
    ('users' in target &&
      subscriber.primaryUser !== null &&
      target.users.includes(subscriber.primaryUser)) ||
    ('tags' in target && target.tags.some((tag) => subscriber.tags.includes(tag)))
  );
}

/** Who hears of a rule, from its scope. */
export function ruleTarget(scope: string, scopeValue: string | null): PushTarget {
  if (scope === 'machine' && scopeValue) return { machines: [scopeValue] };
  if (scope === 'user' && scopeValue) return { users: [scopeValue] };
  if (scope === 'tag' && scopeValue) return { tags: [scopeValue] };
  return { all: true };
}
