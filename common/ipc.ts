// The contract between the menu-bar app's main process and its renderer: one verb per function,
// the channel each one uses, and the parsers both sides apply to what crosses the boundary.
import { parsePostureResults } from './posture';
import type { AgentStatus } from './status';

/** A program the service blocked for this user. */
export interface BlockedEvent {
  readonly id: number;
  readonly fileName: string;
  /** The folder the file was in. */
  readonly filePath: string;
  readonly sha256: string;
  readonly user: string | null;
  readonly parentName: string | null;
  readonly ppid: number | null;
  readonly decision: string;
  /** The package that installed the file (Linux), standing in for macOS's publisher. */
  readonly package: string | null;
  /** Seconds since the epoch. */
  readonly executionTime: number;
  readonly occurrences: number;
  /** ALLOW_TRANSITIVE: the compiler that built the file here. */
  readonly builtBy?: string | null;
  /**
   * A block that a synced rule now allows, by the name the rule gives it (Santa's
   * notification_app_name): "<name> can now be run".
   */
  readonly nowRuns?: string | null;
}

export type RequestState = 'queued' | 'pending' | 'approved' | 'denied' | 'needs-info';
export const REQUEST_STATES: readonly RequestState[] = [
  'queued',
  'pending',
  'approved',
  'denied',
  'needs-info',
];

export interface RequestMessage {
  readonly author: 'user' | 'helpdesk';
  readonly authorName: string;
  readonly body: string;
  /** Milliseconds since the epoch. */
  readonly at: number;
}

export interface ApprovalRequest {
  readonly id: number;
  readonly eventId: number;
  readonly state: RequestState;
  readonly justification: string;
  readonly messages: readonly RequestMessage[];
  /** Seconds since the epoch. */
  readonly createdAt: number;
}

/** Everything the popover shows. */
export interface AppState {
  readonly status: AgentStatus;
  /** Newest first. */
  readonly blocks: readonly BlockedEvent[];
  /** Newest first. */
  readonly requests: readonly ApprovalRequest[];
  /** Programs built here that ran on a transitive rule ("built here by"), newest first. */
  readonly built?: readonly BlockedEvent[];
  /** The menu-bar app's own version. */
  readonly appVersion: string;
}

/** Santa's silence periods: 1 day, 1 week, 1 month (31 days). */
export const SILENCE_PERIODS = { day: 86_400, week: 604_800, month: 2_678_400 } as const;
export type SilencePeriod = keyof typeof SILENCE_PERIODS;

/** The limits the service applies to a justification (main/agent/store/requests.ts). */
export const JUSTIFICATION_LIMITS = { min: 10, max: 2000 } as const;
export const REPLY_MAX = 2000;

/** What the block dialog shows for one event. */
export interface BlockDetails {
  readonly event: BlockedEvent;
  /** The rule's custom message, or Santa's default for the decision. */
  readonly message: string;
  /** Why, in Santa's words: "No matching rule", "Binary rule", "Blocked path". */
  readonly reason: string;
  /**
   * The label of the Open button (the rule's event_detail_button_label, else EventDetailText,
   * else "Open…") when there is a URL to open (the rule's custom_url, else EventDetailURL), else
   * null.
   */
  readonly detailButton: string | null;
  /** The user's request for this event, if one was written. */
  readonly request: ApprovalRequest | null;
}

export interface SyncOutcome {
  readonly started: boolean;
  readonly reason?: string;
}

export interface GatehouseApi {
  getState(): Promise<AppState>;
  /** Called with every new state; returns the function that stops it. */
  onState(listener: (state: AppState) => void): () => void;
  getBlock(eventId: number): Promise<BlockDetails>;
  requestApproval(eventId: number, justification: string): Promise<ApprovalRequest>;
  replyToRequest(requestId: number, text: string): Promise<ApprovalRequest>;
  dismissBlock(eventId: number, silence: SilencePeriod | null): Promise<void>;
  openBlock(eventId: number): Promise<void>;
  openEventDetail(eventId: number): Promise<void>;
  syncNow(): Promise<SyncOutcome>;
  quit(): Promise<void>;
}

/** The invoke channel of each call; the preload and the main side both use these names. */
export const CHANNELS = {
  getState: 'gatehouse:get-state',
  getBlock: 'gatehouse:get-block',
  requestApproval: 'gatehouse:request-approval',
  replyToRequest: 'gatehouse:reply-to-request',
  dismissBlock: 'gatehouse:dismiss-block',
  openBlock: 'gatehouse:open-block',
  openEventDetail: 'gatehouse:open-event-detail',
  syncNow: 'gatehouse:sync-now',
  quit: 'gatehouse:quit',
} as const satisfies Record<Exclude<keyof GatehouseApi, 'onState'>, string>;
export type InvokeChannel = (typeof CHANNELS)[keyof typeof CHANNELS];

/** Main → renderer: the new AppState. */
export const STATE_CHANNEL = 'gatehouse:state';

/** A payload that fails its schema; the message says which argument and what was expected. */
export class PayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadError';
  }
}

export function parseId(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new PayloadError(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function parseJustification(value: unknown): string {
  const { min, max } = JUSTIFICATION_LIMITS;
  const text = typeof value === 'string' ? value.trim() : undefined;
  if (text === undefined || text.length < min || text.length > max) {
    throw new PayloadError(`justification must be ${min} to ${max} characters`);
  }
  return text;
}

export function parseReplyText(value: unknown): string {
  const text = typeof value === 'string' ? value.trim() : undefined;
  if (!text || text.length > REPLY_MAX) {
    throw new PayloadError(`reply must be 1 to ${REPLY_MAX} characters`);
  }
  return text;
}

export function parseSilence(value: unknown): SilencePeriod | null {
  if (value === null) return null;
  if (typeof value === 'string' && Object.hasOwn(SILENCE_PERIODS, value)) {
    return value as SilencePeriod;
  }
  throw new PayloadError(
    `silence must be null, "day", "week" or "month", got ${JSON.stringify(value)}`,
  );
}

/** The arguments each channel takes, parsed; anything else is refused before a handler runs. */
export const PAYLOADS = {
  [CHANNELS.getState]: (args: readonly unknown[]) => expectCount(args, 0) && ([] as const),
  [CHANNELS.getBlock]: (args: readonly unknown[]) =>
    expectCount(args, 1) && ([parseId(args[0], 'eventId')] as const),
  [CHANNELS.requestApproval]: (args: readonly unknown[]) =>
    expectCount(args, 2) && ([parseId(args[0], 'eventId'), parseJustification(args[1])] as const),
  [CHANNELS.replyToRequest]: (args: readonly unknown[]) =>
    expectCount(args, 2) && ([parseId(args[0], 'requestId'), parseReplyText(args[1])] as const),
  [CHANNELS.dismissBlock]: (args: readonly unknown[]) =>
    expectCount(args, 2) && ([parseId(args[0], 'eventId'), parseSilence(args[1])] as const),
  [CHANNELS.openBlock]: (args: readonly unknown[]) =>
    expectCount(args, 1) && ([parseId(args[0], 'eventId')] as const),
  [CHANNELS.openEventDetail]: (args: readonly unknown[]) =>
    expectCount(args, 1) && ([parseId(args[0], 'eventId')] as const),
  [CHANNELS.syncNow]: (args: readonly unknown[]) => expectCount(args, 0) && ([] as const),
  [CHANNELS.quit]: (args: readonly unknown[]) => expectCount(args, 0) && ([] as const),
} satisfies Record<InvokeChannel, (args: readonly unknown[]) => readonly unknown[]>;

function expectCount(args: readonly unknown[], count: number): true {
  if (args.length !== count) {
    throw new PayloadError(`expected ${count} argument(s), got ${args.length}`);
  }
  return true;
}

type Fields = Record<string, unknown>;
const isObject = (value: unknown): value is Fields =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown, max = 4096): string | undefined =>
  typeof value === 'string' && value.length <= max ? value : undefined;
const strOrNull = (value: unknown, max = 4096): string | null => str(value, max) ?? null;
const int = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined;
const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;

/** Validates a status crossing a process boundary; anything malformed reads as unreachable. */
export function parseAgentStatus(value: unknown): AgentStatus {
  if (!isObject(value) || value.reachable !== true) return { reachable: false };
  const mode = value.mode === 'MONITOR' || value.mode === 'LOCKDOWN' ? value.mode : undefined;
  const version = str(value.version, 100);
  const lastSync = num(value.lastSync);
  return {
    reachable: true,
    ...(mode ? { mode } : {}),
    monitorRunning: value.monitorRunning === true,
    ...(version !== undefined ? { version } : {}),
    ...(lastSync !== undefined ? { lastSync } : {}),
    ...(value.syncConfigured === true ? { syncConfigured: true } : {}),
    ...(Array.isArray(value.posture) ? { posture: parsePostureResults(value.posture) } : {}),
  };
}

/**
 * The agent's `status` reply as the app's AgentStatus. The service reports lastSync as
 * milliseconds since the epoch and syncBaseUrl as the configured server or null.
 */
export function statusFromAgent(value: unknown): AgentStatus {
  if (!isObject(value)) return { reachable: false };
  return parseAgentStatus({
    ...value,
    reachable: true,
    syncConfigured: typeof value.syncBaseUrl === 'string' && value.syncBaseUrl !== '',
  });
}

/** An event as the service (StoredEvent) or the main process (BlockedEvent) sends it. */
export function parseBlockedEvent(value: unknown): BlockedEvent | undefined {
  if (!isObject(value)) return undefined;
  const id = int(value.id);
  const fileName = str(value.fileName, 1024);
  const filePath = str(value.filePath);
  const sha256 = str(value.fileSha256 ?? value.sha256, 64);
  const decision = str(value.decision, 64);
  const executionTime = num(value.executionTime);
  if (
    id === undefined ||
    id < 1 ||
    fileName === undefined ||
    filePath === undefined ||
    sha256 === undefined ||
    !/^[0-9a-f]{64}$/i.test(sha256) ||
    decision === undefined ||
    executionTime === undefined
  ) {
    return undefined;
  }
  return {
    id,
    fileName,
    filePath,
    sha256: sha256.toLowerCase(),
    user: strOrNull(value.executingUser ?? value.user, 256),
    parentName: strOrNull(value.parentName, 256),
    ppid: int(value.ppid) ?? null,
    decision,
    package: strOrNull(value.package, 256),
    executionTime,
    occurrences: int(value.occurrences) ?? 1,
    builtBy: strOrNull(value.builtBy, 4096),
    nowRuns: strOrNull(value.nowRuns, 256),
  };
}

function parseMessage(value: unknown): RequestMessage | undefined {
  if (!isObject(value)) return undefined;
  const author = value.author === 'user' || value.author === 'helpdesk' ? value.author : undefined;
  const body = str(value.body, 10_000);
  const at = num(value.at);
  if (!author || body === undefined || at === undefined) return undefined;
  return { author, authorName: str(value.authorName, 256) ?? '', body, at };
}

/** A request as the service (StoredRequest) or the main process sends it. */
export function parseApprovalRequest(value: unknown): ApprovalRequest | undefined {
  if (!isObject(value)) return undefined;
  const id = int(value.id);
  const eventId = int(value.eventId);
  const state = REQUEST_STATES.find((candidate) => candidate === value.state);
  const justification = str(value.justification, 10_000);
  const createdAt = num(value.createdAt);
  if (
    id === undefined ||
    eventId === undefined ||
    !state ||
    justification === undefined ||
    createdAt === undefined
  ) {
    return undefined;
  }
  const messages = Array.isArray(value.messages)
    ? value.messages
        .slice(-200)
        .map(parseMessage)
        .filter((message): message is RequestMessage => message !== undefined)
    : [];
  return { id, eventId, state, justification, messages, createdAt };
}

function parseList<T>(value: unknown, parse: (item: unknown) => T | undefined): T[] {
  if (!Array.isArray(value)) return [];
  return value.map(parse).filter((item): item is T => item !== undefined);
}

/** The popover's state as the renderer receives it. */
export function parseAppState(value: unknown): AppState {
  if (!isObject(value)) {
    return { status: { reachable: false }, blocks: [], requests: [], appVersion: '' };
  }
  return {
    status: parseAgentStatus(value.status),
    blocks: parseList(value.blocks, parseBlockedEvent),
    requests: parseList(value.requests, parseApprovalRequest),
    built: parseList(value.built, parseBlockedEvent),
    appVersion: str(value.appVersion, 100) ?? '',
  };
}

export function parseBlockDetails(value: unknown): BlockDetails | undefined {
  if (!isObject(value)) return undefined;
  const event = parseBlockedEvent(value.event);
  const message = str(value.message, 10_000);
  const reason = str(value.reason, 1000);
  if (!event || message === undefined || reason === undefined) return undefined;
  return {
    event,
    message,
    reason,
    detailButton: strOrNull(value.detailButton, 64),
    request: parseApprovalRequest(value.request) ?? null,
  };
}

/** Santa's default block messages (SNTBlockMessage). */
export function defaultBlockMessage(decision: string): string {
  return decision === 'BLOCK_UNKNOWN'
    ? 'The following application has been blocked from executing because its trustworthiness cannot be determined.'
    : 'The following application has been blocked from executing because it has been deemed malicious or against policy.';
}
