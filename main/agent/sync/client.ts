// The agent's sync client: Santa's protocol (preflight → eventupload → ruledownload →
// postflight), so that it works against any server that follows it, ours included. Request
// bodies are deflated as Santa's are; events are deleted only after a 200; every rule page is
// gathered before any is applied, in one transaction; settings from preflight are applied after
// postflight.
import { hostname, release } from 'node:os';
import { deflateSync } from 'node:zlib';
import { normalizeKeys, policyName } from '../../../common/santa';
import { parseRule, RuleError, type ClientMode } from '../../../common/rules';
import { PRODUCT_VERSION } from '../../../common/version';
import type { Agent } from '../agent';
import type { RequestMessage, RequestState, StoredRequest } from '../store/requests';
import type { StoreChange } from '../store/rules';
import { userName } from '../users';

export class SyncError extends Error {}

/** How many skipped rules a sync names (all of them are counted: received less processed). */
const SKIPPED_REPORTED = 10;

export interface SyncResult {
  readonly syncType: 'NORMAL' | 'CLEAN' | 'CLEAN_ALL';
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
}

export interface SyncClientOptions {
  readonly baseUrl: string;
  readonly machineId: string;
  /** Sent as Authorization: Bearer (a Gatehouse machine token, or one from SyncExtraHeaders). */
  readonly token?: string;
  readonly fetch?: typeof fetch;
  readonly retries?: number;
  readonly retryDelayMs?: number;
  readonly timeoutMs?: number;
}

export class SyncClient {
  readonly #agent: Agent;
  readonly #base: URL;
  readonly #options: SyncClientOptions;
  #cleanRequested = false;
  #postureSent: string | undefined;

  constructor(agent: Agent, options: SyncClientOptions) {
    this.#agent = agent;
    const base = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
    this.#base = new URL(base);
    this.#options = options;
  }

  /** The next sync asks the server for every rule again. */
  requestCleanSync(): void {
    this.#cleanRequested = true;
  }

  async sync(): Promise<SyncResult> {
    const agent = this.#agent;
    const counts = agent.rules.counts();
    const preflight = normalizeKeys(
      await this.#post('preflight', {
        serial_num: agent.config.machineId,
        hostname: hostname(),
        os_version: release(),
        santa_version: PRODUCT_VERSION,
        ...(agent.config.machineOwner ? { primary_user: agent.config.machineOwner } : {}),
        client_mode: agent.mode,
        request_clean_sync: this.#cleanRequested,
        binary_rule_count: counts.BINARY,
        certificate_rule_count: counts.CERTIFICATE,
        teamid_rule_count: counts.TEAMID,
        signingid_rule_count: counts.SIGNINGID,
        cdhash_rule_count: counts.CDHASH,
        machine_id: this.#options.machineId,
        rules_hash: agent.rules.rulesHash(),
      }),
      'preflight response',
    );
    const syncType = this.#syncType(preflight);
    const batchSize =
      typeof preflight.batch_size === 'number' && preflight.batch_size > 0
        ? preflight.batch_size
        : 50;
    const clientMode =
      preflight.client_mode === 'MONITOR' || preflight.client_mode === 'LOCKDOWN'
        ? preflight.client_mode
        : undefined;
    const interval = preflight.full_sync_interval ?? preflight.full_sync_interval_seconds;
    const fullSyncIntervalS = typeof interval === 'number' ? Math.max(60, interval) : 600;

    let eventsUploaded = 0;
    for (;;) {
      const events = agent.events.pendingUpload(batchSize);
      if (events.length === 0) break;
      await this.#post('eventupload', {
        machine_id: this.#options.machineId,
        events: events.map((event) => ({
          file_sha256: event.fileSha256,
          file_path: event.filePath,
          file_name: event.fileName,
          ...(event.executingUser ? { executing_user: event.executingUser } : {}),
          execution_time: event.executionTime,
          decision: event.decision,
          ...(event.pid !== null ? { pid: event.pid } : {}),
          ...(event.ppid !== null ? { ppid: event.ppid } : {}),
          ...(event.parentName ? { parent_name: event.parentName } : {}),
          // Gatehouse's addition: the Linux package the file came from (Santa servers ignore it).
          ...(event.package ? { package: event.package } : {}),
          ...(event.fileSize !== null ? { file_size: event.fileSize } : {}),
          logged_in_users: event.loggedInUsers,
          current_sessions: event.currentSessions,
        })),
      });
      agent.events.markUploaded(events.map((event) => event.id)); // only after the server's 200
      eventsUploaded += events.length;
    }

    const requestsDelivered = await this.#deliverRequests();
    const postureDelivered = await this.#syncPosture();

    const received: unknown[] = [];
    let cursor: string | undefined;
    for (let page = 0; ; page++) {
      if (page > 100_000) throw new SyncError('ruledownload: the server never stopped paginating');
      const response = normalizeKeys(
        await this.#post('ruledownload', {
          machine_id: this.#options.machineId,
          ...(cursor ? { cursor } : {}),
        }),
        'ruledownload response',
      );
      const rules = response.rules ?? [];
      if (!Array.isArray(rules))
        throw new SyncError(
          'ruledownload: the server sent "rules" that is not a list; nothing was applied',
        );
      received.push(...rules);
      if (response.cursor === undefined || response.cursor === null || response.cursor === '')
        break;
      if (typeof response.cursor !== 'string')
        throw new SyncError(
          'ruledownload: the server sent a cursor that is not a string; nothing was applied',
        );
      cursor = response.cursor;
    }
    const changes: StoreChange[] = [];
    const rulesSkipped: string[] = [];
    for (const raw of received) {
      const change = this.#rule(raw);
      if (typeof change !== 'string') changes.push(change);
      else if (rulesSkipped.length < SKIPPED_REPORTED) rulesSkipped.push(change);
    }
    if (syncType === 'NORMAL') agent.rules.apply(changes, 'sync');
    else
      agent.rules.replace(
        changes.filter((change) => change.policy !== 'REMOVE'),
        'sync',
      );

    const requestsUpdated = await this.#refreshRequests();

    await this.#post('postflight', {
      machine_id: this.#options.machineId,
      rules_received: received.length,
      rules_processed: changes.length,
      sync_type: syncType,
      rules_hash: agent.rules.rulesHash(),
    });
    this.#cleanRequested = false;
    if (clientMode && clientMode !== agent.mode) agent.setMode(clientMode);
    agent.recordSync(Date.now());
    return {
      syncType,
      eventsUploaded,
      rulesReceived: received.length,
      rulesProcessed: changes.length,
      rulesSkipped,
      requestsDelivered,
      requestsUpdated,
      postureDelivered,
      ...(clientMode ? { clientMode } : {}),
      fullSyncIntervalS,
    };
  }

  /**
   * Gatehouse's approval requests (beside Santa's protocol, never inside it): queued ones are
   * delivered, before the rules, so that a request reaches the helpdesk even when the rule
   * download fails. A server without the API is left alone.
   */
  async #deliverRequests(): Promise<number> {
    const agent = this.#agent;
    let delivered = 0;
    if (!this.#options.token) return delivered;
    const api = new URL('../api/v1/requests', this.#base);
    for (const request of agent.requests.queued()) {
      const event = agent.events.get(request.eventId);
      if (!event) continue;
      const reply = await this.#send(
        'POST',
        api,
        {
          client_request_id: String(request.id),
          requester: userName(request.uid) ?? `uid ${request.uid}`,
          justification: request.justification,
          event: {
            file_sha256: event.fileSha256,
            file_path: event.filePath,
            file_name: event.fileName,
            decision: event.decision,
            execution_time: event.executionTime,
          },
        },
        'requests',
        [200, 201, 404],
      );
      if (reply.status === 404) return delivered; // not a Gatehouse server
      this.#applyRemote(request.id, reply.body as RemoteRequest);
      delivered++;
    }
    return delivered;
  }

  /**
   * Open requests brought up to date. After the rules are applied, so that a request is never
   * shown approved (and announced so) before its rule lets the binary run.
   */
  async #refreshRequests(): Promise<number> {
    const agent = this.#agent;
    let updated = 0;
    if (!this.#options.token || agent.requests.open().length === 0) return updated;
    const api = new URL('../api/v1/requests', this.#base);
    const list = await this.#send('GET', api, undefined, 'requests', [200, 404]);
    if (list.status === 404) return updated;
    const remote = new Map(
      ((list.body as { requests?: RemoteRequest[] }).requests ?? []).map((r) => [
        String(r.client_request_id),
        r,
      ]),
    );
    for (const request of agent.requests.open()) {
      const match = remote.get(String(request.id));
      if (match && this.#applyRemote(request.id, match)) updated++;
    }
    return updated;
  }

  /**
   * Posture results, a Gatehouse extension beside Santa's protocol: POST
   * /api/v1/machines/:id/posture with the machine token, when the checks have run since the
   * last delivery. A server without the endpoint (404) is left alone.
   */
  async #syncPosture(): Promise<boolean> {
    const results = this.#agent.posture;
    if (!this.#options.token || results.length === 0) return false;
    const body = { results };
    const key = JSON.stringify(body);
    if (key === this.#postureSent) return false;
    const url = new URL(
      `../api/v1/machines/${encodeURIComponent(this.#options.machineId)}/posture`,
      this.#base,
    );
    const reply = await this.#send('POST', url, body, 'posture', [200, 404]);
    if (reply.status === 404) return false;
    this.#postureSent = key;
    return true;
  }

  /** What the backend says of a request, applied locally; true when anything changed. */
  #applyRemote(localId: number, remote: RemoteRequest): boolean {
    const changed = this.#agent.requests.update(localId, {
      serverId: String(remote.id),
      state: remoteState(remote.state),
      messages: remoteMessages(remote.messages),
    });
    if (changed) this.#agent.requestChanged(changed);
    return changed !== undefined;
  }

  /**
   * The user's answer to the helpdesk's question, sent at once (not at the next sync); returns
   * the request as the backend now has it.
   */
  async reply(localId: number, body: string): Promise<StoredRequest> {
    const request = this.#agent.requests.get(localId);
    if (!request) throw new SyncError(`reply: there is no request ${localId}`);
    if (!this.#options.token || !request.serverId) {
      throw new SyncError(
        'reply: this request has not reached the helpdesk yet; try again after the next sync',
      );
    }
    const url = new URL(
      `../api/v1/requests/${encodeURIComponent(request.serverId)}/reply`,
      this.#base,
    );
    const answer = await this.#send(
      'POST',
      url,
      { requester: userName(request.uid) ?? `uid ${request.uid}`, body },
      'reply',
      [200],
    );
    this.#applyRemote(localId, answer.body as RemoteRequest);
    return this.#agent.requests.get(localId) ?? request;
  }

  #syncType(preflight: Record<string, unknown>): SyncResult['syncType'] {
    const type =
      typeof preflight.sync_type === 'string' ? preflight.sync_type.toUpperCase() : undefined;
    if (type === 'CLEAN' || type === 'CLEAN_ALL') return type;
    if (type === undefined && preflight.clean_sync === true) return 'CLEAN'; // deprecated
    return 'NORMAL';
  }

  /**
   * A rule from the server through the one rule constructor, or the reason it is skipped (as
   * Santa skips a bad rule): the native table must never be handed one it would refuse.
   */
  #rule(raw: unknown): StoreChange | string {
    if (typeof raw !== 'object' || raw === null) return 'a rule that is not an object';
    const rule = normalizeKeys(raw, 'rule');
    const identifier =
      typeof rule.identifier === 'string' && rule.identifier
        ? rule.identifier
        : typeof rule.sha256 === 'string'
          ? rule.sha256
          : rule.identifier;
    const type = typeof rule.rule_type === 'string' ? rule.rule_type.toUpperCase() : rule.rule_type;
    const policy =
      typeof rule.policy === 'string' ? (policyName(rule.policy) ?? rule.policy) : rule.policy;
    try {
      const checked = parseRule({ type, identifier, policy }, true);
      return {
        ...checked,
        customMsg: typeof rule.custom_msg === 'string' ? rule.custom_msg : null,
        customUrl: typeof rule.custom_url === 'string' ? rule.custom_url : null,
      };
    } catch (error) {
      if (error instanceof RuleError) return error.message;
      throw error;
    }
  }

  async #post(stage: string, body: unknown): Promise<unknown> {
    const url = new URL(`${stage}/${encodeURIComponent(this.#options.machineId)}`, this.#base);
    return (await this.#send('POST', url, body, stage, [200])).body;
  }

  /** One request with retries; the answer when its status is one of `accept`. */
  async #send(
    method: 'GET' | 'POST',
    url: URL,
    body: unknown,
    stage: string,
    accept: number[],
  ): Promise<{ status: number; body: unknown }> {
    const payload = body === undefined ? undefined : deflateSync(Buffer.from(JSON.stringify(body)));
    const attempts = (this.#options.retries ?? 3) + 1;
    let lastError = '';
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0)
        await new Promise((resolve) =>
          setTimeout(resolve, (this.#options.retryDelayMs ?? 500) * 2 ** (attempt - 1)),
        );
      let response: Response;
      try {
        response = await (this.#options.fetch ?? fetch)(url, {
          method,
          headers: {
            ...(payload
              ? { 'content-type': 'application/json', 'content-encoding': 'deflate' }
              : {}),
            'user-agent': `gatehouse-sync/${PRODUCT_VERSION}`,
            ...(this.#options.token ? { authorization: `Bearer ${this.#options.token}` } : {}),
          },
          ...(payload ? { body: new Uint8Array(payload) } : {}),
          redirect: 'error',
          signal: AbortSignal.timeout(this.#options.timeoutMs ?? 30_000),
        });
      } catch (error) {
        lastError = `${stage}: cannot reach ${url.origin} (${(error as Error).message})`;
        continue;
      }
      const text = await response.text();
      if (accept.includes(response.status)) {
        // Santa strips an XSSI prefix before parsing.
        const json = response.status === 404 ? '' : text.replace(/^\)\]\}'\n|^\]\)\}/, '');
        if (json.trim() === '') return { status: response.status, body: {} };
        try {
          return { status: response.status, body: JSON.parse(json) as unknown };
        } catch {
          throw new SyncError(
            `${stage}: the server's answer is not JSON; nothing from this sync was applied`,
          );
        }
      }
      lastError = `${stage}: the server answered ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`;
      if (
        response.status >= 400 &&
        response.status < 500 &&
        response.status !== 408 &&
        response.status !== 429
      )
        break;
    }
    throw new SyncError(lastError);
  }
}

interface RemoteRequest {
  id: number | string;
  client_request_id?: string;
  state?: string;
  messages?: { author?: string; author_name?: string; body?: string; at?: number }[];
}

function remoteState(state: unknown): RequestState {
  return state === 'approved' || state === 'denied' || state === 'needs-info' ? state : 'pending';
}

function remoteMessages(messages: RemoteRequest['messages']): RequestMessage[] {
  return (Array.isArray(messages) ? messages : [])
    .filter((m) => typeof m?.body === 'string')
    .map((m) => ({
      author: m.author === 'user' ? 'user' : 'helpdesk',
      authorName: typeof m.author_name === 'string' ? m.author_name : '',
      body: m.body!,
      at: typeof m.at === 'number' ? m.at : 0,
    }));
}
