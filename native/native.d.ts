// The raw shape of gatehouse.node. Only native/ imports this; everything else uses the typed
// wrappers in index.ts and monitor.ts.
import type { DecisionReason } from '../common/policy';
import type { Decision, RuleChange, RuleIdentity, TransitiveRule } from '../common/rules';

export interface RawMonitorOptions {
  backend: 'fanotify' | 'fake';
  mode: 'MONITOR' | 'LOCKDOWN';
  // Unset: the native default (AuthorizerOptions in src/core/authorizer.h).
  failClosed?: boolean;
  deadlineMs?: number;
  workers?: number;
  denyCacheMs?: number;
  queueCapacity?: number;
  notifyQueueSize?: number;
  perUserJobs?: number;
  maxHashMiB?: number;
  watchPaths?: string[];
  scopes?: RawScopes;
  transitiveCapacity?: number;
}

export interface RawScopes {
  allowed?: readonly string[];
  blocked?: readonly string[];
}

export interface RawIdentity {
  sha256?: string;
  cdhash?: string;
  signingId?: string;
  certificateSha256?: string;
  teamId?: string;
  path?: string;
  /** The file is package-managed and its content still matches its package. */
  packageIntact?: boolean;
}

export interface RawDecision {
  pid: number;
  ppid: number;
  uid: number;
  gid: number;
  path: string;
  sha256: string;
  size: number;
  dev: number;
  inode: number;
  decision: Decision;
  rule: RuleIdentity | null;
  latencyUs: number;
  answeredBy: 'policy' | 'cache' | 'watchdog' | 'queue-full' | 'error';
  /** Why the answer is not simply the rules' outcome; absent when it is. */
  reason?: DecisionReason;
  error?: string;
  /** ALLOW_TRANSITIVE decided on the rules (not the cache): the compiler that wrote the file. */
  builtBy?: string;
}

export interface RawMetrics {
  events: number;
  selfAllowed: number;
  cacheHits: number;
  cacheMisses: number;
  coalesced: number;
  filesHashed: number;
  bytesHashed: number;
  deadlineAnswers: number;
  queueFullAnswers: number;
  errorAnswers: number;
  allowed: number;
  blocked: number;
  notified: number;
  droppedNotifications: number;
  ignoreMarks: number;
  cacheFlushes: number;
  pendingAnswers: number;
  busyAnswers: number;
  tooLargeAnswers: number;
  writerOpenAnswers: number;
  writtenAnswers: number;
  writeInvalidations: number;
  guardUnsupported: number;
  jobsActive: number;
  guardedFiles: number;
  /** Execs and executable mappings the BPF layer refused (LOCKDOWN) or reported (MONITOR). */
  routeBlocks: number;
  routeReports: number;
  /** What the exec gate cannot refuse here, and why; empty when every route is gated. */
  gateGaps: string;
  workQueueDepth: number;
  notifyQueueDepth: number;
  rules: number;
  kernelSkips: number;
  /** Transitive rules held, and what the build tracker saw (native/src/core/build_tracker.h). */
  transitiveRules: number;
  trackedWrites: number;
  compilerWrites: number;
  transitiveMinted: number;
  transitiveRefused: number;
  transitiveForgotten: number;
  compilersTainted: number;
  compilersSeen: number;
  /** Compilers exec'd and gone before the tracker read it: what they wrote minted nothing. */
  compilersMissed: number;
  latencyHistogram: { leUs: number | null; count: number }[];
}

export interface RawWatched {
  path: string;
  fstype: string;
  device: string;
  mark: 'filesystem' | 'mount';
}

export interface RawMonitor {
  start(): void;
  stop(): void;
  setMode(mode: 'MONITOR' | 'LOCKDOWN', failClosed?: boolean): void;
  setDeadline(ms: number): void;
  setRules(rules: readonly RuleIdentity[]): void;
  setScopes(scopes: RawScopes): void;
  /** n SHA-256s as 32·n bytes and n policy bytes (0 ALLOWLIST … 3 SILENT_BLOCKLIST). */
  addBinaryRules(digests: Uint8Array, policies: Uint8Array): void;
  /** Package trust: paths joined by NUL, 16 MD5 bytes per path. */
  setPackages(enabled: boolean, paths: string, md5s: Uint8Array): void;
  applyRuleChanges(changes: readonly RuleChange[]): void;
  flushCache(): void;
  metrics(): RawMetrics;
  watched(): RawWatched[];
  /** Nanoseconds per rule-table lookup, as a worker does it (benchmarks). */
  timeLookups(sha256s: readonly string[]): Float64Array;
  /** Tracks what compilers write; throws when this OS or build cannot. */
  setTransitive(enabled: boolean): void;
  transitiveRules(): TransitiveRule[];
  loadTransitiveRules(rules: readonly TransitiveRule[]): void;
  /** Returns how many there were. */
  clearTransitiveRules(): number;
  inject(
    path: string,
    process: { pid: number; ppid?: number; uid?: number; gid?: number },
  ): Promise<boolean>;
}

export interface RawAddon {
  /** The version the addon was built from (package.json at build time). */
  version(): string;
  /** The exec-monitor backend compiled in: "fanotify" on Linux, "endpoint-security" on macOS. */
  backend(): string;
  /** "sha-ni" when SHA-256 runs on the CPU's SHA extensions, else "portable". */
  hashAcceleration(): string;
  peerCredentials(fd: number): { pid: number | null; uid: number; gid: number };
  /** SHA-256 (and MD5, for package trust) of a whole file, off the JavaScript thread. */
  sha256File(path: string): Promise<{ sha256: string; md5: string; size: number }>;
  /** Sends an sd_notify(3) state ("READY=1", "WATCHDOG=1", ...); false when not under systemd. */
  notifySystemd(state: string): boolean;
  /** The exec path's decision for this identity, without a monitor. */
  evaluate(
    identity: RawIdentity,
    rules: readonly RuleIdentity[],
    mode: 'MONITOR' | 'LOCKDOWN',
    scopes?: RawScopes,
  ): { decision: Decision; rule: RuleIdentity | null };
  Monitor: new (
    options: RawMonitorOptions,
    onDecision: (decision: RawDecision) => void,
  ) => RawMonitor;
}
