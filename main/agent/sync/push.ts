// The agent's end of the backend's push stream (Server-Sent Events), reconnecting with backoff
// for as long as the agent runs. What arrives is only a nudge: the agent then syncs, over the
// same authenticated protocol as always.

/** A push as the agent acts on it: its kind, and the window to spread its sync over. */
export interface Nudge {
  readonly kind: string;
  /** Sync at a random moment within this many ms (a push to many machines); 0: at once. */
  readonly spreadMs: number;
}

/** The longest spread the agent accepts; a larger one (a broken or hostile server) is cut to it. */
export const MAX_SPREAD_MS = 120_000;

/**
 * After a server restart every agent reconnects at about the same time, and each syncs to catch up
 * on pushes it missed: that sync is spread over this window, and the reconnection attempts are
 * jittered too (each wait a random half to whole of the backoff), so that they do not come as one.
 */
export const RECONNECT_SPREAD_MS = 10_000;

/** The spread a push's data line asks for: a whole number of ms, else none. */
export function spreadOf(data: string): number {
  try {
    const value = (JSON.parse(data) as { spread_ms?: unknown } | null)?.spread_ms;
    return typeof value === 'number' && Number.isInteger(value) && value > 0
      ? Math.min(value, MAX_SPREAD_MS)
      : 0;
  } catch {
    return 0;
  }
}

/** A reconnection's wait: a random half to whole of the backoff (`draw` in [0, 1)). */
export const jittered = (backoffMs: number, draw: number) => backoffMs * (0.5 + draw / 2);

export class PushStream {
  readonly #url: URL;
  readonly #token: string;
  readonly #onEvent: (nudge: Nudge) => void;
  readonly #fetch: typeof fetch;
  readonly #random: () => number;
  #abort: AbortController | undefined;
  #stopped = false;
  connected = false;

  constructor(
    url: URL,
    token: string,
    onEvent: (nudge: Nudge) => void,
    fetchImpl: typeof fetch = fetch,
    random: () => number = Math.random,
  ) {
    this.#url = url;
    this.#token = token;
    this.#onEvent = onEvent;
    this.#fetch = fetchImpl;
    this.#random = random;
  }

  start(): void {
    void this.#loop();
  }

  stop(): void {
    this.#stopped = true;
    this.#abort?.abort();
  }

  async #loop(): Promise<void> {
    let delayMs = 1000;
    let connectedBefore = false;
    while (!this.#stopped) {
      this.#abort = new AbortController();
      try {
        const response = await this.#fetch(this.#url, {
          headers: { authorization: `Bearer ${this.#token}`, accept: 'text/event-stream' },
          signal: this.#abort.signal,
        });
        if (response.status === 200 && response.body) {
          this.connected = true;
          delayMs = 1000;
          // Pushes sent while the stream was down are lost: a sync on reconnecting catches up.
          if (connectedBefore)
            this.#onEvent({ kind: 'reconnected', spreadMs: RECONNECT_SPREAD_MS });
          connectedBefore = true;
          await this.#read(response.body);
        }
      } catch {
        // reconnect below
      }
      this.connected = false;
      if (this.#stopped) return;
      const waitMs = jittered(delayMs, this.#random());
      await new Promise((resolve) => setTimeout(resolve, waitMs).unref());
      delayMs = Math.min(delayMs * 2, 30_000);
    }
  }

  async #read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    let kind = 'message';
    let spreadMs = 0;
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline).replace(/\r$/, '');
        buffer = buffer.slice(newline + 1);
        if (line === '') {
          if (kind !== 'message') this.#onEvent({ kind, spreadMs });
          kind = 'message';
          spreadMs = 0;
        } else if (line.startsWith('event:')) {
          kind = line.slice(6).trim();
        } else if (line.startsWith('data:')) {
          spreadMs = spreadOf(line.slice(5));
        }
      }
    }
  }
}
