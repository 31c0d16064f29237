// Push to machines: "rules changed" and "request updated", sent down each machine's event
// stream. On PostgreSQL every server process hears every change through LISTEN/NOTIFY, so a
// machine connected to one process hears of an approval clicked on another; on SQLite there is
// one process, and the hub is in memory.
import pg from 'pg';

export type PushKind = 'rules-changed' | 'request-updated';
/** Which machines: all of them, some by id, or those whose primary user is one of these. */
export type PushTarget =
  { all: true } | { machines: string[] } | { users: string[] } | { tags: string[] };
export interface PushMessage {
  readonly kind: PushKind;
  readonly target: PushTarget;
  readonly detail?: Record<string, unknown>;
}

type Subscriber = {
  machineId: string;
  primaryUser: string | null;
  tags: readonly string[];
  send(message: PushMessage): void;
};

const CHANNEL = 'gatehouse_push';

export class PushHub {
  readonly #subscribers = new Set<Subscriber>();
  #listener: pg.Client | undefined;
  readonly #databaseUrl: string | undefined;

  constructor(databaseUrl?: string) {
    this.#databaseUrl = databaseUrl;
  }

  /** On PostgreSQL: listen for changes made by any server process. */
  async start(): Promise<void> {
    if (!this.#databaseUrl) return;
    const client = new pg.Client({ connectionString: this.#databaseUrl });
    await client.connect();
    client.on('notification', (notification) => {
      if (notification.channel !== CHANNEL || !notification.payload) return;
      try {
        this.#deliver(JSON.parse(notification.payload) as PushMessage);
      } catch {
        // a payload we did not write: ignore
      }
    });
    client.on('error', () => undefined);
    await client.query(`LISTEN ${CHANNEL}`);
    this.#listener = client;
  }

  async stop(): Promise<void> {
    await this.#listener?.end();
    this.#listener = undefined;
  }

  subscribe(subscriber: Subscriber): () => void {
    this.#subscribers.add(subscriber);
    return () => this.#subscribers.delete(subscriber);
  }

  get connected(): number {
    return this.#subscribers.size;
  }

  /** Called after a change has committed. */
  async publish(message: PushMessage): Promise<void> {
    if (this.#listener) {
      await this.#listener.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify(message)]);
    } else {
      this.#deliver(message);
    }
  }

  #deliver(message: PushMessage): void {
    for (const subscriber of this.#subscribers) {
      const target = message.target;
      const hit =
        'all' in target ||
        ('machines' in target && target.machines.includes(subscriber.machineId)) ||
        ('users' in target &&
          subscriber.primaryUser !== null &&
          target.users.includes(subscriber.primaryUser)) ||
        ('tags' in target && target.tags.some((tag) => subscriber.tags.includes(tag)));
      if (hit) subscriber.send(message);
    }
  }
}

/** Who hears of a rule, from its scope. */
export function ruleTarget(scope: string, scopeValue: string | null): PushTarget {
  if (scope === 'machine' && scopeValue) return { machines: [scopeValue] };
  if (scope === 'user' && scopeValue) return { users: [scopeValue] };
  if (scope === 'tag' && scopeValue) return { tags: [scopeValue] };
  return { all: true };
}
