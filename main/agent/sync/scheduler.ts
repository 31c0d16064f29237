// When the agent syncs: 15 s after start, then at the server's full-sync interval, at once when
// asked (gatehousectl sync, the menu bar, a new request: the control socket limits how often one
// user may ask), and soon after a block (at most once a minute). One sync at a time; failures
// back off.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, release } from 'node:os';
import { join } from 'node:path';
import { PRODUCT_VERSION } from '../../../common/version';
import type { Agent } from '../agent';
import type { StoredRequest } from '../store/requests';
import { SyncClient, SyncError, type SyncResult } from './client';
import { PushStream } from './push';

/** Gatehouse servers enroll at /api/v1/enroll beside /santa/; the token is kept in StateDir. */
export async function enrollMachine(
  agent: Agent,
  fetchImpl: typeof fetch = fetch,
): Promise<string | undefined> {
  const config = agent.config;
  const tokenFile = join(config.stateDir, 'sync-token');
  try {
    const stored = readFileSync(tokenFile, 'utf8').trim();
    if (stored) return stored;
  } catch {
    // not enrolled yet
  }
  if (!config.syncBaseUrl || !config.enrollmentSecret) return undefined;
  const url = new URL(
    '../api/v1/enroll',
    config.syncBaseUrl.endsWith('/') ? config.syncBaseUrl : `${config.syncBaseUrl}/`,
  );
  const response = await fetchImpl(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      enrollment_secret: config.enrollmentSecret,
      machine_id: config.machineId,
      hostname: hostname(),
      os_version: release(),
      agent_version: PRODUCT_VERSION,
      ...(config.machineOwner ? { primary_user: config.machineOwner } : {}),
      ...(config.machineTags.length > 0 ? { tags: config.machineTags } : {}),
    }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (response.status !== 200)
    throw new SyncError(`enroll: the server answered ${response.status}: ${text.slice(0, 200)}`);
  const token = (JSON.parse(text) as { token?: unknown }).token;
  if (typeof token !== 'string' || !token) throw new SyncError('enroll: the server sent no token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  chmodSync(tokenFile, 0o600);
  return token;
}

export class SyncScheduler {
  readonly #agent: Agent;
  #client: SyncClient | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<SyncResult | undefined> | undefined;
  #intervalS = 600;
  #failures = 0;
  #lastBlockSync = 0;
  #stopped = false;
  #push: PushStream | undefined;
  #followUp: Promise<SyncResult | undefined> | undefined;
  lastError: string | undefined;

  constructor(agent: Agent) {
    this.#agent = agent;
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
    const config = this.#agent.config;
    if (!config.syncBaseUrl) return undefined;
    try {
      if (!this.#client) {
        const token = await enrollMachine(this.#agent);
        this.#client = new SyncClient(this.#agent, {
          baseUrl: config.syncBaseUrl,
          machineId: config.machineId,
          ...(token ? { token } : {}),
        });
        if (token && !this.#stopped) {
          const base = config.syncBaseUrl.endsWith('/')
            ? config.syncBaseUrl
            : `${config.syncBaseUrl}/`;
          const url = new URL(
            `../api/v1/machines/${encodeURIComponent(config.machineId)}/stream`,
            base,
          );
          this.#push = new PushStream(url, token, () => void this.syncNow());
          this.#push.start();
        }
      }
      const result = await this.#client.sync();
      if (result.rulesSkipped.length > 0) {
        const skipped = result.rulesReceived - result.rulesProcessed;
        console.error(
          `gatehouse sync: ${skipped} rules from the server skipped (${result.rulesSkipped.join('; ')}${skipped > result.rulesSkipped.length ? '; …' : ''})`,
        );
      }
      this.#intervalS = result.fullSyncIntervalS;
      this.#failures = 0;
      this.lastError = undefined;
      this.#schedule(this.#intervalS * 1000);
      return result;
    } catch (error) {
      this.#failures++;
      this.lastError = (error as Error).message;
      console.error(`gatehouse sync: ${this.lastError}`);
      this.#schedule(Math.min(this.#intervalS * 1000, 5_000 * 2 ** Math.min(this.#failures, 7)));
      return undefined;
    }
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.syncNow(), delayMs);
    this.#timer.unref();
  }
}
