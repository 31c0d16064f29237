// When the agent syncs: 15 s after start, then at the server's full-sync interval, at once when
// asked (gatehousectl sync, the menu bar, a new request: the control socket limits how often one
// user may ask), and soon after a block (at most once a minute). One sync at a time; failures
// back off.
import type { Agent } from '../agent';
import type { StoredRequest } from '../store/requests';
import { DEFAULT_FULL_SYNC_INTERVAL_S, SyncClient, SyncError, type SyncResult } from './client';
import { enrollMachine, forgetToken, tokenRefused } from './enrollment';
import { PushStream, type Nudge } from './push';
import { apiUrl } from './url';

export class SyncScheduler {
  readonly #agent: Agent;
  #client: SyncClient | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<SyncResult | undefined> | undefined;
  #intervalS: number;
  #failures = 0;
  #lastBlockSync = 0;
  #stopped = false;
  #push: PushStream | undefined;
  #followUp: Promise<SyncResult | undefined> | undefined;
  /** A sync a push asked for within its spread (#nudged): when, and its timer. */
  #spreadAt: number | undefined;
  #spreadTimer: NodeJS.Timeout | undefined;
  readonly #random: () => number;
  lastError: string | undefined;

  constructor(agent: Agent, random: () => number = Math.random) {
    this.#agent = agent;
    this.#random = random;
    // The server's interval from an earlier run, until the next sync says otherwise.
    this.#intervalS = agent.serverSettings.fullSyncIntervalS ?? DEFAULT_FULL_SYNC_INTERVAL_S;
  }

  start(firstDelayMs = 15_000): void {
    this.#schedule(firstDelayMs);
    this.#agent.onMessage((message) => {
      // A request the user just wrote is not seen here: the control socket starts its sync,
      // within that user's sync interval.
      if (message.kind !== 'event' || !message.event.decision.startsWith('BLOCK_')) return;
      const now = Date.now();
      if (now - this.#lastBlockSync < 60_000) return;
      this.#lastBlockSync = now;
      this.#schedule(2_000);
    });
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    clearTimeout(this.#spreadTimer);
    this.#push?.stop();
  }

  get pushConnected(): boolean {
    return this.#push?.connected ?? false;
  }

  /**
   * Runs a sync now; when one is already running, runs another right after it, so that whatever
   * changed meanwhile (a request just written, a push) is not left for the next interval.
   */
  syncNow(): Promise<SyncResult | undefined> {
    if (!this.#running) {
      this.#running = this.#run().finally(() => {
        this.#running = undefined;
      });
      return this.#running;
    }
    this.#followUp ??= this.#running.then(() => {
      this.#followUp = undefined;
      return this.syncNow();
    });
    return this.#followUp;
  }

  /** Sends the user's answer to a helpdesk question now, syncing first if never synced. */
  async reply(localId: number, body: string): Promise<StoredRequest> {
    if (!this.#client) await this.syncNow();
    if (!this.#client) {
      throw new SyncError(
        `reply: the agent cannot reach its sync server (${this.lastError ?? 'not synced yet'})`,
      );
    }
    return this.#client.reply(localId, body);
  }

  async #run(): Promise<SyncResult | undefined> {
    const baseUrl = this.#agent.config.syncBaseUrl;
    if (!baseUrl) return undefined;
    try {
      this.#client ??= await this.#connect(baseUrl);
      const result = await this.#client.sync();
      reportSkippedRules(result);
      if (result.settingsRefused.length > 0)
        console.error(
          `gatehouse sync: settings from the server ignored: ${result.settingsRefused.join('; ')}`,
        );
      this.#intervalS = result.fullSyncIntervalS;
      this.#failures = 0;
      this.lastError = undefined;
      this.#schedule(this.#intervalS * 1000);
      return result;
    } catch (error) {
      this.#failures++;
      this.lastError = (error as Error).message;
      if (tokenRefused(error)) {
        // The token was replaced or its machine removed: enroll again at the next sync.
        this.#push?.stop();
        this.#push = undefined;
        this.#client = undefined;
        forgetToken(this.#agent);
        this.lastError += '; the agent forgot its token and enrolls again';
      }
      console.error(`gatehouse sync: ${this.lastError}`);
      this.#schedule(Math.min(this.#intervalS * 1000, 5_000 * 2 ** Math.min(this.#failures, 7)));
      return undefined;
    }
  }

  /** The client for this agent, enrolled when it can be, and its push stream when it has a token. */
  async #connect(baseUrl: string): Promise<SyncClient> {
    const config = this.#agent.config;
    const token = await enrollMachine(this.#agent);
    const client = new SyncClient(this.#agent, {
      baseUrl,
      machineId: config.machineId,
      ...(token ? { token } : {}),
    });
    if (token && !this.#stopped) {
      const stream = `machines/${encodeURIComponent(config.machineId)}/stream`;
      this.#push = new PushStream(
        apiUrl(baseUrl, stream),
        token,
        (nudge) => this.#nudged(nudge),
        fetch,
        this.#random,
      );
      this.#push.start();
    }
    return client;
  }

  /**
   * A push: sync now, or, for a push to many machines or a reconnected stream, at a random moment
   * of the window it gives, so that a fleet told of one global rule, or back after a server
   * restart, does not sync all at once (server/push.ts, push.ts). A spread sync already waiting
   * is kept when it comes sooner.
   */
  #nudged(nudge: Nudge): void {
    if (nudge.spreadMs === 0) return void this.syncNow();
    const at = Date.now() + Math.floor(this.#random() * nudge.spreadMs);
    if (this.#spreadAt !== undefined && this.#spreadAt <= at) return;
    clearTimeout(this.#spreadTimer);
    this.#spreadAt = at;
    this.#spreadTimer = setTimeout(() => {
      this.#spreadAt = undefined;
      void this.syncNow();
    }, at - Date.now());
    this.#spreadTimer.unref();
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.syncNow(), delayMs);
    this.#timer.unref();
  }
}

function reportSkippedRules(result: SyncResult): void {
  if (result.rulesSkipped.length === 0) return;
  const skipped = result.rulesReceived - result.rulesProcessed;
  const more = skipped > result.rulesSkipped.length ? '; …' : '';
  console.error(
    `gatehouse sync: ${skipped} rules from the server skipped (${result.rulesSkipped.join('; ')}${more})`,
  );
}
