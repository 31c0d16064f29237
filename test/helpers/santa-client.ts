// A stock Santa client's syncs (northpolesec/santa's santasyncservice, sync v1), for tests that
// play one against the backend over real HTTP. It builds each stage's message from
// server/santa/sync_v1.proto with protobufjs and sends it as Santa does: proto3 JSON with Santa's
// default print options (JSON names, defaults left out, enums by name) or, with
// transfer 'binary' (SyncEnableProtoTransfer), the binary message as application/x-protobuf;
// compressed per SyncClientContentEncoding (deflate by default, gzip, none). Answers are parsed as
// Santa does: binary, or JSON with unknown fields ignored after an XSSI prefix is stripped.
//
// It holds rules as Santa's rule table does: one rule per (identifier, rule_type); REMOVE deletes;
// any other policy replaces the whole rule; a CLEAN sync first drops every non-transitive rule and
// CLEAN_ALL every rule, in the same step as the downloaded ones are added, and only if some were
// downloaded. The client mode from preflight applies after postflight, as in Santa.
//
// XSRF as SNTSyncStage does it: every request carries the token it holds (X-XSRF-TOKEN, or the
// header the server named in X-XSRF-TOKEN-HEADER); a 403 while it holds none makes it fetch one
// once (POST xsrf/<machine id>, no body) and send the request again. It keeps the token for its
// life, as santasyncservice keeps it across syncs.
//
//   const client = new SantaClient({ syncBaseURL: `${base}/santa/`, machineId: 'm1',
//     headers: { authorization: `Bearer ${token}` }, transfer: 'binary', compression: 'gzip' });
//   const report = await client.sync({ events: [...] });
//   client.rules; client.preflight; client.clientMode;
import { deflateSync, gzipSync } from 'node:zlib';
import type protobuf from 'protobufjs';
import protojson from 'protobufjs/ext/protojson.js';
import { santaMessage, type SantaStage } from '../../server/santa/sync-v1';

export type SantaTransfer = 'json' | 'binary';
export type SantaCompression = 'none' | 'deflate' | 'gzip';
export type SantaSyncType = 'NORMAL' | 'CLEAN' | 'CLEAN_ALL';
/** A message as protobufjs's plain objects: proto field names, enums by name. */
export type SantaMessage = Record<string, unknown>;

export interface SantaClientOptions {
  /** SyncBaseURL: each stage posts to <stage>/<machine id> relative to it. */
  readonly syncBaseURL: string;
  readonly machineId: string;
  /** SyncExtraHeaders (Santa drops the restricted ones, such as Content-Type). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly transfer?: SantaTransfer;
  readonly compression?: SantaCompression;
  /** PreflightRequest fields by proto name (serial_number, primary_user, client_mode, ...). */
  readonly facts?: SantaMessage;
}

/** A rule as Santa's rule table keeps it. */
export interface HeldRule {
  readonly identifier: string;
  readonly rule_type: string;
  readonly policy: string;
  readonly custom_msg?: string;
  readonly custom_url?: string;
  readonly cel_expr?: string;
  readonly event_detail_button_label?: string;
  /** Made on the Mac by an ALLOWLIST_COMPILER rule's compiler; a CLEAN sync keeps these. */
  readonly transitive?: boolean;
}

export interface SyncReport {
  readonly syncType: SantaSyncType;
  /** Every rule of every ruledownload page, as received. */
  readonly received: SantaMessage[];
  /** Rules per page; more than one entry means the server paged with a cursor. */
  readonly pages: number[];
  /** The rules Santa would act on (an identifier, a known policy and type). */
  readonly processed: number;
  /** Events per eventupload request: Santa sends at most the preflight's batch_size in each. */
  readonly eventBatches: number[];
  readonly bundleBinaries: string[];
  /** notification_app_name of allowed rules in a NORMAL sync, as Santa notifies the user. */
  readonly notifications: string[];
}

/** A stage answered with something other than 200: Santa abandons the sync there. */
export class SantaSyncError extends Error {
  constructor(
    readonly stage: SantaStage,
    readonly status: number,
    readonly body: string,
  ) {
    super(`${stage} answered ${status}: ${body}`);
  }
}

const RESTRICTED_HEADERS = new Set([
  'content-encoding',
  'content-length',
  'content-type',
  'connection',
  'host',
  'proxy-authenticate',
  'proxy-authorization',
  'www-authenticate',
]);
const POLICIES = new Set([
  'ALLOWLIST',
  'ALLOWLIST_COMPILER',
  'BLOCKLIST',
  'SILENT_BLOCKLIST',
  'SILENT_GUI_BLOCKLIST',
  'SILENT_TTY_BLOCKLIST',
  'REMOVE',
  'CEL',
]);
const RULE_TYPES = new Set(['BINARY', 'CERTIFICATE', 'TEAMID', 'SIGNINGID', 'CDHASH']);
const RULE_FIELDS = ['custom_msg', 'custom_url', 'cel_expr', 'event_detail_button_label'] as const;
const DEFAULT_BATCH_SIZE = 50;

const ruleKey = (identifier: string, ruleType: string) => `${identifier}\u0000${ruleType}`;

function plain(type: protobuf.Type, message: protobuf.Message): SantaMessage {
  return type.toObject(message, { enums: String, longs: Number, oneofs: true });
}

export class SantaClient {
  /** Held rules by (identifier, rule_type). */
  readonly held = new Map<string, HeldRule>();
  /** The last PreflightResponse. */
  preflight: SantaMessage = {};
  /** The mode the client runs in: the facts' mode, then each completed sync's. */
  clientMode: string;
  /** A clean sync the user asked for (santactl sync --clean / --clean-all), until one is done. */
  requestedSync: SantaSyncType = 'NORMAL';
  /** The XSRF token and the header it goes in, once fetched. */
  xsrf: { token: string; header: string } | undefined;

  constructor(readonly options: SantaClientOptions) {
    this.clientMode = String(options.facts?.client_mode ?? 'MONITOR');
  }

  get rules(): HeldRule[] {
    return [...this.held.values()];
  }

  rule(identifier: string, ruleType = 'BINARY'): HeldRule | undefined {
    return this.held.get(ruleKey(identifier, ruleType));
  }

  /** A rule the Mac made itself (a compiler's output): CLEAN keeps it, CLEAN_ALL drops it. */
  addTransitiveRule(identifier: string): void {
    this.held.set(ruleKey(identifier, 'BINARY'), {
      identifier,
      rule_type: 'BINARY',
      policy: 'ALLOWLIST',
      transitive: true,
    });
  }

  /** One stage's request and its parsed answer; a non-200 throws SantaSyncError. */
  async post(stage: SantaStage, fields: SantaMessage): Promise<SantaMessage> {
    const requestType = santaMessage(stage, 'Request');
    const responseType = santaMessage(stage, 'Response');
    const message = requestType.fromObject({ ...fields, machine_id: this.options.machineId });
    const binary = this.options.transfer === 'binary';
    const raw = binary
      ? Buffer.from(requestType.encode(message).finish())
      : Buffer.from(protojson.toJsonString(requestType, message));
    const compression = this.options.compression ?? 'deflate';
    const body =
      compression === 'gzip' ? gzipSync(raw) : compression === 'deflate' ? deflateSync(raw) : raw;
    const send = () =>
      this.send(stage, {
        'content-type': binary ? 'application/x-protobuf' : 'application/json',
        ...(compression === 'none' ? {} : { 'content-encoding': compression }),
        body,
      });
    let response = await send();
    if (response.status === 403 && !this.xsrf && (await this.fetchXsrfToken())) {
      await response.arrayBuffer();
      response = await send();
    }
    const answer = Buffer.from(await response.arrayBuffer());
    if (response.status !== 200) throw new SantaSyncError(stage, response.status, String(answer));
    if (answer.length === 0) return {};
    if (binary) return plain(responseType, responseType.decode(answer));
    const text = String(answer).replace(/^(\)\]\}'\n|\]\)\})/, '');
    return plain(
      responseType,
      protojson.fromJsonString(responseType, text, { ignoreUnknownFields: true }),
    );
  }

  /** A POST to <path>/<machine id> with SyncExtraHeaders and the XSRF token it holds. */
  private send(
    path: string,
    request: { 'content-type'?: string; 'content-encoding'?: string; body?: Buffer },
  ): Promise<Response> {
    const { body, ...headers } = request;
    const extra = Object.entries(this.options.headers ?? {}).filter(
      ([name]) => !RESTRICTED_HEADERS.has(name.toLowerCase()),
    );
    const base = this.options.syncBaseURL.endsWith('/')
      ? this.options.syncBaseURL
      : `${this.options.syncBaseURL}/`;
    return fetch(new URL(`${path}/${this.options.machineId}`, base), {
      method: 'POST',
      redirect: 'error',
      headers: {
        ...Object.fromEntries(extra),
        'user-agent': 'santactl-sync/2026.1',
        ...(this.xsrf ? { [this.xsrf.header]: this.xsrf.token } : {}),
        ...headers,
      },
      ...(body ? { body: new Uint8Array(body) } : {}),
    });
  }

  /** SNTSyncStage fetchXSRFToken: once, while no token is held; true when one came. */
  private async fetchXsrfToken(): Promise<boolean> {
    const response = await this.send('xsrf', {});
    await response.arrayBuffer();
    const token = response.headers.get('x-xsrf-token');
    if (response.status !== 200 || !token) return false;
    this.xsrf = { token, header: response.headers.get('x-xsrf-token-header') || 'X-XSRF-TOKEN' };
    return true;
  }

  /** preflight → eventupload (when there are events) → ruledownload pages → postflight. */
  async sync(
    options: { clean?: SantaSyncType; events?: SantaMessage[] } = {},
  ): Promise<SyncReport> {
    if (options.clean && options.clean !== 'NORMAL') this.requestedSync = options.clean;
    this.preflight = await this.post('preflight', this.preflightRequest());
    const syncType = this.syncType();
    const { eventBatches, bundleBinaries } = await this.uploadEvents(options.events ?? []);
    const download = await this.downloadRules();
    const processed = download.received.filter(acceptable);
    if (processed.length > 0) this.apply(syncType, processed);
    await this.post('postflight', {
      rules_received: download.received.length,
      rules_processed: processed.length,
      sync_type: syncType,
    });
    const mode = this.preflight.client_mode;
    if (mode === 'MONITOR' || mode === 'LOCKDOWN' || mode === 'STANDALONE') this.clientMode = mode;
    if (syncType !== 'NORMAL') this.requestedSync = 'NORMAL';
    const notifications =
      syncType === 'NORMAL'
        ? processed
            .filter((rule) => rule.policy !== 'REMOVE' && rule.notification_app_name)
            .map((rule) => String(rule.notification_app_name))
        : [];
    return {
      syncType,
      ...download,
      processed: processed.length,
      eventBatches,
      bundleBinaries,
      notifications,
    };
  }

  private preflightRequest(): SantaMessage {
    const count = (test: (rule: HeldRule) => boolean) => this.rules.filter(test).length;
    return {
      serial_number: 'C02SIMULATED',
      hostname: `${this.options.machineId}.example`,
      os_version: '15.5',
      os_build: '24F74',
      model_identifier: 'Mac15,7',
      santa_version: '2026.1',
      ...this.options.facts,
      client_mode: this.clientMode,
      request_clean_sync: this.requestedSync !== 'NORMAL',
      binary_rule_count: count((rule) => rule.rule_type === 'BINARY'),
      certificate_rule_count: count((rule) => rule.rule_type === 'CERTIFICATE'),
      compiler_rule_count: count((rule) => rule.policy === 'ALLOWLIST_COMPILER'),
      transitive_rule_count: count((rule) => rule.transitive === true),
      teamid_rule_count: count((rule) => rule.rule_type === 'TEAMID'),
      signingid_rule_count: count((rule) => rule.rule_type === 'SIGNINGID'),
      cdhash_rule_count: count((rule) => rule.rule_type === 'CDHASH'),
    };
  }

  /** Santa's table: the server's sync_type wins, except that CLEAN cannot undo a CLEAN_ALL asked. */
  private syncType(): SantaSyncType {
    const answer = this.preflight;
    const clean = (): SantaSyncType => (this.requestedSync === 'CLEAN_ALL' ? 'CLEAN_ALL' : 'CLEAN');
    if (answer.sync_type !== undefined) {
      if (answer.sync_type === 'CLEAN') return clean();
      return answer.sync_type === 'CLEAN_ALL' ? 'CLEAN_ALL' : 'NORMAL';
    }
    return answer.deprecated_clean_sync === true ? clean() : 'NORMAL';
  }

  private async uploadEvents(
    events: SantaMessage[],
  ): Promise<{ eventBatches: number[]; bundleBinaries: string[] }> {
    const size = Number(this.preflight.batch_size ?? 0) || DEFAULT_BATCH_SIZE;
    const eventBatches: number[] = [];
    const bundleBinaries: string[] = [];
    for (let at = 0; at < events.length; at += size) {
      const batch = events.slice(at, at + size);
      const answer = await this.post('eventupload', { events: batch });
      eventBatches.push(batch.length);
      bundleBinaries.push(...((answer.event_upload_bundle_binaries as string[] | undefined) ?? []));
    }
    return { eventBatches, bundleBinaries };
  }

  private async downloadRules(): Promise<{ received: SantaMessage[]; pages: number[] }> {
    const received: SantaMessage[] = [];
    const pages: number[] = [];
    let cursor = '';
    do {
      const page = await this.post('ruledownload', cursor ? { cursor } : {});
      const rules = (page.rules as SantaMessage[] | undefined) ?? [];
      received.push(...rules);
      pages.push(rules.length);
      cursor = String(page.cursor ?? '');
    } while (cursor !== '');
    return { received, pages };
  }

  private apply(syncType: SantaSyncType, rules: SantaMessage[]): void {
    for (const [key, rule] of this.held) {
      if (syncType === 'CLEAN_ALL' || (syncType === 'CLEAN' && !rule.transitive))
        this.held.delete(key);
    }
    for (const rule of rules) {
      const identifier = String(rule.identifier || rule.deprecated_sha256);
      const key = ruleKey(identifier, String(rule.rule_type));
      if (rule.policy === 'REMOVE') {
        this.held.delete(key);
        continue;
      }
      const held: Record<string, unknown> = {
        identifier,
        rule_type: rule.rule_type,
        policy: rule.policy,
      };
      for (const field of RULE_FIELDS) if (rule[field]) held[field] = rule[field];
      this.held.set(key, held as unknown as HeldRule);
    }
  }
}

/** Santa ignores a rule without an identifier, or with a policy or type it does not know. */
function acceptable(rule: SantaMessage): boolean {
  return (
    Boolean(rule.identifier || rule.deprecated_sha256) &&
    POLICIES.has(String(rule.policy)) &&
    RULE_TYPES.has(String(rule.rule_type))
  );
}
