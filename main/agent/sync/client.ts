// The agent's sync client: Santa's protocol (preflight → eventupload → ruledownload →
// postflight), so that it works against any server that follows it, ours included, with
// Gatehouse's approval requests and posture beside it. Each stage is a file in stages/; this one
// only decides their order and what a sync reports.
import type { ClientMode } from '../../../common/rules';
import type { Agent } from '../agent';
import type { StoredRequest } from '../store/requests';
import { preflight, type SyncType } from './stages/preflight';
import { uploadEvents } from './stages/event-upload';
import { deliverRequests, refreshRequests, replyToRequest } from './stages/requests';
import { uploadPosture } from './stages/posture';
import { downloadRules } from './stages/rule-download';
import { postflight } from './stages/postflight';
import type { StageContext } from './stages/stage';
import { SyncTransport, type SyncClientOptions } from './transport';

export { SyncError } from './errors';

/** Santa's kDefaultFullSyncInterval: until the server sets one. */
export const DEFAULT_FULL_SYNC_INTERVAL_S = 600;
export type { SyncClientOptions } from './transport';

export interface SyncResult {
  readonly syncType: SyncType;
  readonly eventsUploaded: number;
  readonly rulesReceived: number;
  readonly rulesProcessed: number;
  /** Why rules were skipped (the first few): each names the rule and what is allowed. */
  readonly rulesSkipped: readonly string[];
  /** Approval requests delivered to the backend, and ones whose state came back changed. */
  readonly requestsDelivered: number;
  readonly requestsUpdated: number;
  /** Whether this sync delivered posture results (only ones not delivered before). */
  readonly postureDelivered: boolean;
  readonly clientMode?: ClientMode;
  readonly fullSyncIntervalS: number;
  /** Preflight values the agent refused (each says which and why); the sync went on without them. */
  readonly settingsRefused: readonly string[];
}

export class SyncClient {
  readonly #context: StageContext;
  #cleanRequested = false;
  #postureDelivered: string | undefined;

  constructor(agent: Agent, options: SyncClientOptions) {
    this.#context = { agent, transport: new SyncTransport(options) };
  }

  /** The next sync asks the server for every rule again. */
  requestCleanSync(): void {
    this.#cleanRequested = true;
  }

  async sync(): Promise<SyncResult> {
    const context = this.#context;
    const agent = context.agent;
    const settings = await preflight(context, this.#cleanRequested);
    const eventsUploaded = await uploadEvents(context, settings.batchSize);
    const requestsDelivered = await deliverRequests(context);
    const posture = await uploadPosture(context, this.#postureDelivered);
    if (posture !== undefined) this.#postureDelivered = posture;
    const rules = await downloadRules(context, settings.syncType);
    // Only once the rules are in, so that an approval never arrives before its rule.
    const requestsUpdated = await refreshRequests(context);
    await postflight(context, settings.syncType, rules);
    this.#cleanRequested = false;
    // Santa: CLEAN keeps the transitive rules, CLEAN_ALL removes them with every other rule.
    if (settings.syncType === 'CLEAN_ALL') agent.clearTransitiveRules();
    // Kept in the database: the server's word stands after a restart, as Santa's sync state does.
    agent.applyServerSettings({
      enableTransitiveRules: settings.enableTransitiveRules,
      enableAllEventUpload: settings.enableAllEventUpload,
      eventDetailUrl: settings.eventDetailUrl,
      eventDetailText: settings.eventDetailText,
      fullSyncIntervalS: settings.fullSyncIntervalS,
    });
    if (settings.clientMode && settings.clientMode !== agent.mode)
      agent.setMode(settings.clientMode);
    agent.recordSync(Date.now());
    return {
      syncType: settings.syncType,
      eventsUploaded,
      rulesReceived: rules.received,
      rulesProcessed: rules.processed,
      rulesSkipped: rules.skipped,
      requestsDelivered,
      requestsUpdated,
      postureDelivered: posture !== undefined,
      ...(settings.clientMode ? { clientMode: settings.clientMode } : {}),
      fullSyncIntervalS: agent.serverSettings.fullSyncIntervalS ?? DEFAULT_FULL_SYNC_INTERVAL_S,
      settingsRefused: settings.refused ?? [],
    };
  }

  /** The user's answer to the helpdesk's question, sent now rather than at the next sync. */
  reply(localId: number, body: string): Promise<StoredRequest> {
    return replyToRequest(this.#context, localId, body);
  }
}
