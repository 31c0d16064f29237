// The control socket's contract: every method the service answers, whether it needs root, the
// parameters it takes and what it answers. The service checks parameters with this declaration
// and answers with these types; gatehousectl and the menu-bar app call through it, so a method,
// a parameter or a result shape is written here and nowhere else. The wire format is
// newline-delimited JSON-RPC 2.0.
import {
  JUSTIFICATION_LIMITS,
  type RequestMessage,
  type RequestState,
  type SyncOutcome,
} from './ipc';
import type { DecisionReason, Explanation } from './policy';
import type { PostureResult } from './posture';
import {
  CLIENT_MODES,
  parseRule,
  RuleError,
  type ClientMode,
  type Decision,
  type Policy,
  type RuleChange,
  type RuleIdentity,
  type RulePolicy,
  type RuleType,
  type TransitiveRule,
} from './rules';

export const MAX_REQUEST_BYTES = 64 * 1024;

export const RPC_ERROR = {
  parse: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internal: -32603,
  forbidden: -32001,
  rateLimited: -32002,
  /** The service refused or closed the connection (too many open, idle); the message says which. */
  tooManyConnections: -32003,
  notFound: -32004,
} as const;

// ---- What the service answers ----

/** Why the service refused or cut off a client, each counted. */
export const REFUSALS = [
  'perUser',
  'unprivileged',
  'root',
  'noCredentials',
  'idle',
  'unreadReplies',
  'oversized',
  'rateLimited',
  'duplicateRequest',
] as const;
export type Refusal = (typeof REFUSALS)[number];

export interface ConnectionLimits {
  /** Connections one user other than root may hold at once (the menu bar needs one). */
  readonly perUser: number;
  /** Connections all users other than root may hold together. */
  readonly unprivileged: number;
  /** root's own connections, counted apart from everyone else's. */
  readonly root: number;
  /** A connection that has not subscribed and sent nothing for this long is closed. */
  readonly idleMs: number;
  /** Past this many bytes of replies the peer has not read, no more of its requests are read. */
  readonly pauseBytes: number;
  /** Past this many, the peer is dropped (pushes can still grow an unread queue). */
  readonly dropBytes: number;
  /**
   * Refused connections that may stay open at once (for half a second at most) until their peer
   * has read why; past this, a refused connection is closed as soon as the reason is written.
   */
  readonly lingering: number;
}

export interface ConnectionCounts {
  /** Open now: root's, and everyone else's together. */
  readonly connections: { readonly root: number; readonly others: number };
  readonly refused: Readonly<Record<Refusal, number>>;
  /** Peers whose requests are not being read because they do not read their replies. */
  readonly paused: number;
}

/** The control socket's own figures, beside the agent's in `status`. */
export interface ControlSocketStatus extends ConnectionCounts {
  readonly limits: ConnectionLimits;
  /** This process's descriptors: held now, and RLIMIT_NOFILE (null where unknown). */
  readonly openFiles: {
    readonly open: number | null;
    readonly soft: number | null;
    readonly hard: number | null;
  };
}

export interface WatchedFilesystem {
  readonly path: string;
  readonly fstype: string;
  readonly device: string;
  readonly mark: 'filesystem' | 'mount';
}

/** What `status` answers: the agent's state, and the control socket's own figures. */
export interface ServiceStatus {
  readonly version: string;
  readonly mode: ClientMode;
  readonly failClosed: boolean;
  readonly monitorRunning: boolean;
  readonly backend: string;
  readonly ruleCounts: Readonly<Record<RuleType, number>>;
  readonly rulesHash: string;
  /** Stored rules the native table refused at start, left out of it: how many, the first why. */
  readonly rulesSkipped: { readonly count: number; readonly first: readonly string[] };
  readonly cache: {
    readonly cacheHits: number;
    readonly cacheMisses: number;
    readonly ignoreMarks: number;
    readonly filesHashed: number;
  } | null;
  /** The exec monitor's counters, declared by the native addon (RawMetrics in native.d.ts). */
  readonly metrics: object | null;
  /** What the exec gate holds against: its answers that were not the rules' own, and its gaps. */
  readonly execGate: {
    /** What the gate cannot refuse on this machine, and why; empty when every route is gated. */
    readonly gaps: string;
    readonly deadline: number;
    readonly tooLarge: number;
    readonly busy: number;
    readonly openForWriting: number;
    readonly writtenWhileDeciding: number;
    /** Allows forgotten because someone opened the file for writing. */
    readonly writeInvalidations: number;
    /** Files whose allow stands while they are watched for writes. */
    readonly guardedFiles: number;
    /** Execs and code mappings the BPF layer refused (LOCKDOWN) or recorded (MONITOR). */
    readonly routeBlocks: number;
    readonly routeReports: number;
  } | null;
  readonly watched: readonly WatchedFilesystem[];
  readonly eventsPendingUpload: number;
  readonly eventsDropped: number;
  readonly lastSync: number | null;
  readonly syncBaseUrl: string | null;
  readonly machineId: string;
  /** The last posture check results (empty until the first run finishes). */
  readonly posture: readonly PostureResult[];
  /** Absent from older agents. */
  readonly settings?: SyncedSettings;
  readonly controlSocket: ControlSocketStatus;
}

/** An exec the service recorded, as `events` answers and the `event` push sends it. */
export interface EventRecord {
  readonly id: number;
  readonly fileSha256: string;
  readonly filePath: string;
  readonly fileName: string;
  readonly executingUser: string | null;
  readonly uid: number;
  readonly executionTime: number;
  readonly lastSeen: number;
  readonly occurrences: number;
  readonly pid: number | null;
  readonly ppid: number | null;
  readonly parentName: string | null;
  readonly decision: Decision;
  readonly loggedInUsers: readonly string[];
  readonly currentSessions: readonly string[];
  readonly fileSize: number | null;
  readonly package: string | null;
  /** Why the decision is not simply the rules' outcome; null when it is. */
  readonly reason: DecisionReason | null;
  /** ALLOW_TRANSITIVE: the compiler that wrote the file (absent from older agents). */
  readonly builtBy?: string | null;
  readonly uploaded: boolean;
}

/** An approval request, as the `requests.*` methods answer and the `request` push sends it. */
export interface RequestRecord {
  readonly id: number;
  readonly eventId: number;
  readonly uid: number;
  readonly justification: string;
  readonly state: RequestState;
  readonly serverId: string | null;
  readonly messages: readonly RequestMessage[];
  readonly createdAt: number;
}

/** Santa's texts of a rule, beside what it matches (sync/v1.proto `Rule`). */
export interface RuleTexts {
  readonly customMsg?: string | null;
  readonly customUrl?: string | null;
  /** A CEL rule's expression: kept and listed; Linux has no evaluator, so it matches nothing. */
  readonly celExpr?: string | null;
  readonly eventDetailButtonLabel?: string | null;
  readonly notificationAppName?: string | null;
  readonly comment?: string | null;
}

/** A rule as the agent holds it: every field of Santa's rule (sync/v1.proto `Rule`). */
export interface RuleRecord extends RuleTexts {
  readonly type: RuleType;
  readonly identifier: string;
  /** As Santa names it: CEL and the silent GUI/TTY blocks too. */
  readonly policy: RulePolicy;
  /** What the Linux exec path enforces (common/policy.ts execPolicy); null: CEL, matches nothing. */
  readonly enforced?: Policy | null;
  readonly source: 'static' | 'sync' | 'local';
  readonly expiresAt?: number | null;
}

/** Where a setting the sync server may override came from: it wins once sent, as in Santa. */
export type SettingSource = 'config' | 'server';

/** Santa's settings the agent acts on, each with where its value came from. */
export interface SyncedSettings {
  /** Transitive rules: on or off, from where, and how many this machine's compilers minted. */
  readonly transitive: {
    readonly enabled: boolean;
    readonly source: SettingSource;
    readonly held: number;
  };
  /** Every decision kept as an event and uploaded (EnableAllEventUpload). */
  readonly allEventUpload: { readonly enabled: boolean; readonly source: SettingSource };
  /** The block dialog's Open button: a URL with Santa's placeholders (or none) and its label. */
  readonly eventDetail: {
    readonly url: string | null;
    readonly text: string | null;
    readonly source: SettingSource;
  };
}

/** What a rule arriving for a program the user was blocked on says: Santa's "<name> can now be run". */
export interface RuleNotice {
  readonly sha256: string;
  readonly appName: string;
}

/** What the service sends a subscribed connection unasked, as JSON-RPC notifications. */
export interface ControlPushes {
  /** One of the caller's execs (root's own, for root). */
  readonly event: EventRecord;
  /** One of the caller's requests changed. */
  readonly request: RequestRecord;
  readonly status: ServiceStatus;
  /** A synced rule with notification_app_name now lets run a program the caller was blocked on. */
  readonly rule: RuleNotice;
}

/** What `fileinfo` adds about the BINARY rule for the file: the block dialog's texts. */
export type FileRuleTexts = Pick<RuleTexts, 'customMsg' | 'customUrl' | 'eventDetailButtonLabel'>;

// ---- What the service accepts ----

/** A parameter that does not fit its declaration; the service answers it with invalidParams. */
export class ParamsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParamsError';
  }
}

type Raw = Readonly<Record<string, unknown>>;

/** How a method's parameters are read: `In` is what a caller sends, `Out` what a handler gets. */
export interface Params<In, Out> {
  parse(params: Raw): Out;
  /** Never set: carries the type a caller sends. */
  readonly input?: In;
}

/** One parameter: `optional` ones may be left out. */
export interface Field<In, Out, Optional extends boolean = boolean> {
  readonly optional: Optional;
  parse(value: unknown, key: string): Out;
  readonly input?: In;
}

type Fields = Record<string, Field<unknown, unknown>>;
type InputOf<F extends Fields> = {
  readonly [K in keyof F as F[K]['optional'] extends true ? never : K]: NonNullable<F[K]['input']>;
} & {
  readonly [K in keyof F as F[K]['optional'] extends true ? K : never]?: NonNullable<F[K]['input']>;
};
type OutputOf<F extends Fields> = { readonly [K in keyof F]: ReturnType<F[K]['parse']> };

function field<In, Out, Optional extends boolean>(
  optional: Optional,
  parse: (value: unknown, key: string) => Out,
): Field<In, Out, Optional> {
  return { optional, parse };
}

/** Named parameters, each read by its field; names not declared are ignored. */
export function object<F extends Fields>(fields: F): Params<InputOf<F>, OutputOf<F>> {
  return {
    parse: (params) =>
      Object.fromEntries(
        Object.entries(fields).map(([key, f]) => [key, f.parse(params[key], key)]),
      ) as OutputOf<F>,
  };
}

/** For methods that take nothing (what a caller sends anyway is ignored). */
const NONE = object({});

/** An integer in [min, max]; left out (or null), `fallback` when there is one. */
function integer(min: number, max: number): Field<number, number, false>;
function integer(min: number, max: number, fallback: number): Field<number, number, true>;
function integer(min: number, max: number, fallback?: number): Field<number, number> {
  return field(fallback !== undefined, (raw, key) => {
    const value = raw ?? fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
      throw new ParamsError(`${key} must be an integer from ${min} to ${max}`);
    return value;
  });
}

/** A string of 1 to `max` characters. */
function text(max: number): Field<string, string, false> {
  return field(false, (value, key) => {
    if (typeof value !== 'string' || value.length === 0 || value.length > max)
      throw new ParamsError(`${key} must be a string of 1 to ${max} characters`);
    return value;
  });
}

function optional<In, Out>(inner: Field<In, Out>): Field<In, Out | undefined, true> {
  return field(true, (value, key) => (value === undefined ? undefined : inner.parse(value, key)));
}

/** A digest in hex, lower-cased: SHA-256 or MD5. */
function digest(what: string, digits: number): Field<string, string, false> {
  const pattern = new RegExp(`^[0-9a-fA-F]{${digits}}$`);
  return field(false, (value, key) => {
    if (typeof value !== 'string' || !pattern.test(value))
      throw new ParamsError(`${key} must be ${what} (${digits} hex digits)`);
    return value.toLowerCase();
  });
}

function oneOf<T extends string>(allowed: readonly T[]): Field<T, T, false> {
  return field(false, (value, key) => {
    if (typeof value !== 'string' || !allowed.includes(value as T))
      throw new ParamsError(
        `${key} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value) ?? 'nothing'}`,
      );
    return value as T;
  });
}

/** A justification or reply: trimmed, and at least `min` characters once trimmed. */
function statement(max: number, min: number, tooShort: string): Field<string, string, false> {
  const raw = text(max);
  return field(false, (value, key) => {
    const trimmed = raw.parse(value, key).trim();
    if (trimmed.length < min) throw new ParamsError(tooShort);
    return trimmed;
  });
}

/** A rule through the one rule constructor: what the native table accepts. */
function ruleOf(params: Raw, policy?: 'REMOVE'): RuleChange {
  try {
    const given = { type: params.type, identifier: params.identifier };
    return policy
      ? parseRule({ ...given, policy }, true)
      : parseRule({ ...given, policy: params.policy });
  } catch (error) {
    if (error instanceof RuleError) throw new ParamsError(error.message);
    throw error;
  }
}

const RULE_NOTE = optional(text(1000));

const ruleToAdd: Params<
  RuleIdentity & { readonly customMsg?: string; readonly comment?: string },
  { readonly rule: RuleIdentity; readonly customMsg?: string; readonly comment?: string }
> = {
  parse: (params) => ({
    rule: ruleOf(params) as RuleIdentity,
    customMsg: RULE_NOTE.parse(params.customMsg, 'customMsg'),
    comment: RULE_NOTE.parse(params.comment, 'comment'),
  }),
};

/**
 * The rule to remove; or, when the rule constructor refuses it, the stored row it may still name
 * (from an older version, or a damaged disk), which never reached the native table.
 */
export type RuleRemoval =
  | { readonly rule: RuleChange }
  | { readonly refused: string; readonly stored?: { type: string; identifier: string } };

const ruleToRemove: Params<{ readonly type: RuleType; readonly identifier: string }, RuleRemoval> =
  {
    parse: (params) => {
      try {
        return { rule: ruleOf(params, 'REMOVE') };
      } catch (error) {
        if (!(error instanceof ParamsError)) throw error;
        const { type, identifier } = params;
        return typeof type === 'string' && typeof identifier === 'string'
          ? { refused: error.message, stored: { type, identifier } }
          : { refused: error.message };
      }
    },
  };

// ---- The methods ----

/** Never set at run time: carries the type a method answers with. */
export interface Answer<Result> {
  readonly result?: Result;
}
const answers = <Result>(): Answer<Result> => ({});

interface MethodDeclaration<In, Out, Result> extends Answer<Result> {
  /** Callers other than root are refused before their parameters are read. */
  readonly rootOnly: boolean;
  readonly params: Params<In, Out>;
}

function method<In, Out, Result>(
  who: 'root' | 'anyone',
  params: Params<In, Out>,
  answer: Answer<Result>,
): MethodDeclaration<In, Out, Result> {
  return { rootOnly: who === 'root', params, ...answer };
}

/**
 * Every method of the control socket. Any local user may call the `anyone` ones, which answer
 * with the caller's own events and requests (root's answer with everyone's).
 */
export const CONTROL_METHODS = {
  status: method('anyone', NONE, answers<ServiceStatus>()),
  /** The service's figures in Prometheus' text format (main/agent/control/metrics.ts). */
  metrics: method('anyone', NONE, answers<{ readonly text: string }>()),
  /** Recent events, newest first. */
  events: method('anyone', object({ limit: integer(1, 1000, 50) }), answers<EventRecord[]>()),
  /** The decision for a file the caller hashed itself (it may read it; the service must not). */
  fileinfo: method(
    'anyone',
    object({
      sha256: digest('a SHA-256', 64),
      // The file's MD5 decides package trust, as it does natively.
      md5: optional(digest('an MD5', 32)),
      path: optional(text(4096)),
    }),
    answers<Explanation & FileRuleTexts>(),
  ),
  /** From now on the connection is sent the caller's events and requests, and the status. */
  subscribe: method(
    'anyone',
    NONE,
    answers<{ readonly subscribed: true; readonly status: ServiceStatus }>(),
  ),
  'requests.create': method(
    'anyone',
    object({
      eventId: integer(1, Number.MAX_SAFE_INTEGER),
      justification: statement(
        JUSTIFICATION_LIMITS.max,
        JUSTIFICATION_LIMITS.min,
        `justification must be at least ${JUSTIFICATION_LIMITS.min} characters`,
      ),
    }),
    answers<RequestRecord>(),
  ),
  /** The caller's answer to the helpdesk's question, sent on to the backend. */
  'requests.reply': method(
    'anyone',
    object({
      requestId: integer(1, Number.MAX_SAFE_INTEGER),
      text: statement(JUSTIFICATION_LIMITS.max, 1, 'text must not be blank'),
    }),
    answers<RequestRecord>(),
  ),
  'requests.list': method('anyone', NONE, answers<RequestRecord[]>()),
  'rules.list': method(
    'root',
    object({ limit: integer(1, 10_000, 1000), offset: integer(0, Number.MAX_SAFE_INTEGER, 0) }),
    answers<RuleRecord[]>(),
  ),
  /** Answers with the rule as stored (canonicalised). */
  'rules.add': method('root', ruleToAdd, answers<RuleRecord | null>()),
  /** The transitive rules this machine's compilers minted, and whether they are on. */
  'rules.transitive': method(
    'root',
    NONE,
    answers<{ readonly enabled: boolean; readonly rules: TransitiveRule[] }>(),
  ),
  'rules.remove': method(
    'root',
    ruleToRemove,
    answers<{ readonly put: number; readonly removed: number }>(),
  ),
  setMode: method(
    'root',
    object({ mode: oneOf(CLIENT_MODES) }),
    answers<{ readonly mode: ClientMode }>(),
  ),
  flushCache: method('root', NONE, answers<{ readonly flushed: true }>()),
  /** Starts a sync with the backend; each user at most once per sync interval. */
  sync: method('anyone', NONE, answers<SyncOutcome>()),
  /** Runs every posture check now and answers with the results; root may ask at any time. */
  'posture.run': method('anyone', NONE, answers<PostureResult[]>()),
};

export type ControlMethods = typeof CONTROL_METHODS;
export type ControlMethod = keyof ControlMethods;

/** What a caller sends to `M`. */
export type ControlParams<M extends ControlMethod> = NonNullable<
  ControlMethods[M]['params']['input']
>;
/** What the service's handler of `M` gets: the parameters once read and checked. */
export type CheckedParams<M extends ControlMethod> = ReturnType<
  ControlMethods[M]['params']['parse']
>;
/** What `M` answers with. */
export type ControlResult<M extends ControlMethod> = Exclude<
  ControlMethods[M]['result'],
  undefined
>;

/** A call's arguments after the method: nothing for a method that needs nothing. */
export type ControlArgs<M extends ControlMethod> =
  Record<string, never> extends ControlParams<M>
    ? [params?: ControlParams<M>]
    : [params: ControlParams<M>];

/** Anything that can call the service through this contract. */
export interface ControlCaller {
  call<M extends ControlMethod>(method: M, ...args: ControlArgs<M>): Promise<ControlResult<M>>;
}

/** Whether the service has a method of this name (inherited names such as toString never do). */
export function isControlMethod(name: string): name is ControlMethod {
  return Object.hasOwn(CONTROL_METHODS, name);
}

/** Reads `M`'s parameters by its declaration; a ParamsError says which one is wrong and why. */
export function checkParams<M extends ControlMethod>(name: M, params: unknown): CheckedParams<M> {
  if (params === undefined) params = {};
  if (typeof params !== 'object' || params === null || Array.isArray(params))
    throw new ParamsError('params must be an object');
  return CONTROL_METHODS[name].params.parse(params as Raw) as CheckedParams<M>;
}
