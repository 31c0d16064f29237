// ExecMonitor: the typed face of the native exec authorizer. Decisions are made natively; this
// class validates what goes in and hands out what comes back.
import {
  CLIENT_MODES,
  type ClientMode,
  type RuleChange,
  type RuleIdentity,
  type TransitiveRule,
} from '../common/rules';
import { nativeAddon } from './loader';
import type { RawAddon, RawDecision, RawMetrics, RawMonitor, RawWatched } from './native.d.ts';

export type ExecDecision = RawDecision;
export type MonitorMetrics = RawMetrics;
export type WatchedFilesystem = RawWatched;

export interface ExecMonitorOptions {
  /** Where exec events come from: the platform's facility, or scripted execs for tests. */
  backend?: 'fanotify' | 'fake';
  mode: ClientMode;
  /** In LOCKDOWN, answer BLOCK when a decision cannot be made in time (default: true). */
  failClosed?: boolean;
  /** Every exec is answered within this many milliseconds, decided or not (default 5000). */
  deadlineMs?: number;
  /** Native threads that hash files (default 2). */
  workers?: number;
  /** How long a block is remembered before the file is looked at again (default 1500). */
  denyCacheMs?: number;
  /** Files waiting to be hashed before new ones are answered with the fail mode (default 4096). */
  queueCapacity?: number;
  /** Files one user may have waiting to be hashed before their next gets the fail mode (64). */
  perUserJobs?: number;
  /** Larger files are not hashed: path scopes alone decide them, else unknown (default 1024). */
  maxHashMiB?: number;
  /** Decisions waiting for JavaScript before new ones are counted as dropped (default 4096). */
  notifyQueueSize?: number;
  /** Watch only the filesystems holding these paths (default: every local filesystem). */
  watchPaths?: readonly string[];
  /** Path prefixes decided after the rules: blocked first, then allowed. */
  scopes?: PathScopes;
  /** Transitive rules: what an ALLOWLIST_COMPILER program writes may run (default: off). */
  transitive?: boolean;
  /** Transitive rules kept at once; the one used longest ago makes room (default 10000). */
  transitiveCapacity?: number;
  /** Transitive rules kept from before (transitiveRules() then). */
  transitiveRules?: readonly TransitiveRule[];
}

export interface PathScopes {
  readonly allowed?: readonly string[];
  readonly blocked?: readonly string[];
}

export class ExecMonitorOptionsError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`exec monitor: ${problems.join('; ')}`);
    this.name = 'ExecMonitorOptionsError';
    this.problems = problems;
  }
}

const INTEGER_LIMITS = {
  deadlineMs: [100, 600_000],
  workers: [1, 64],
  denyCacheMs: [0, 60_000],
  queueCapacity: [1, 1_000_000],
  perUserJobs: [1, 1_000_000],
  maxHashMiB: [1, 4_194_304],
  notifyQueueSize: [1, 1_000_000],
  transitiveCapacity: [1, 1_000_000],
} as const;

/** Checks options from any source (config files, the control socket); lists every problem. */
export function validateMonitorOptions(options: unknown): string[] {
  if (typeof options !== 'object' || options === null) return ['options must be an object'];
  const o = options as Record<string, unknown>;
  const problems: string[] = [];
  const shown = (value: unknown) => JSON.stringify(value) ?? String(value);
  if (!CLIENT_MODES.includes(o.mode as ClientMode)) {
    problems.push(`mode must be MONITOR or LOCKDOWN, got ${shown(o.mode)}`);
  }
  if (o.backend !== undefined && o.backend !== 'fanotify' && o.backend !== 'fake') {
    problems.push(`backend must be "fanotify" or "fake", got ${shown(o.backend)}`);
  }
  for (const key of ['failClosed', 'transitive']) {
    if (o[key] !== undefined && typeof o[key] !== 'boolean') {
      problems.push(`${key} must be true or false, got ${shown(o[key])}`);
    }
  }
  for (const [key, [min, max]] of Object.entries(INTEGER_LIMITS)) {
    const value = o[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      problems.push(`${key} must be an integer from ${min} to ${max}, got ${shown(value)}`);
    }
  }
  if (o.scopes !== undefined) {
    const scopes = o.scopes as Record<string, unknown> | null;
    if (typeof scopes !== 'object' || scopes === null) {
      problems.push(`scopes must be an object { allowed, blocked }, got ${shown(o.scopes)}`);
    } else {
      for (const key of ['allowed', 'blocked']) {
        const list = scopes[key];
        if (list === undefined) continue;
        if (
          !Array.isArray(list) ||
          list.some((path) => typeof path !== 'string' || !path.startsWith('/'))
        ) {
          problems.push(`scopes.${key} must be a list of absolute paths, got ${shown(list)}`);
        }
      }
    }
  }
  if (o.watchPaths !== undefined) {
    const paths = o.watchPaths;
    if (!Array.isArray(paths) || paths.length === 0) {
      problems.push(`watchPaths must be a non-empty list of absolute paths, got ${shown(paths)}`);
    } else {
      for (const path of paths) {
        if (typeof path !== 'string' || !path.startsWith('/')) {
          problems.push(`watchPaths entries must be absolute paths, got ${shown(path)}`);
        }
      }
    }
  }
  return problems;
}

function definedOnly<T extends Record<string, unknown>>(values: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(values).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}

export type DecisionListener = (decision: ExecDecision) => void;

/** BINARY rules in bulk: 32 SHA-256 bytes and one policy byte per rule (see POLICY_CODES). */
export interface BinaryRuleChunk {
  readonly digests: Uint8Array;
  readonly policies: Uint8Array;
}

/** Package trust: absolute paths and, 16 bytes each, the MD5 their package installed. */
export interface PackageDigests {
  readonly paths: readonly string[];
  readonly md5: Uint8Array;
}

/** The byte for each policy in a BinaryRuleChunk (the native enum's order). */
export const POLICY_CODES = {
  ALLOWLIST: 0,
  ALLOWLIST_COMPILER: 1,
  BLOCKLIST: 2,
  SILENT_BLOCKLIST: 3,
} as const;

export class ExecMonitor {
  readonly #addon: () => RawAddon;
  #raw: RawMonitor | undefined;
  #backend: 'fanotify' | 'fake' | undefined;
  readonly #listeners = new Set<DecisionListener>();

  constructor(addon: () => RawAddon = nativeAddon) {
    this.#addon = addon;
  }

  get running(): boolean {
    return this.#raw !== undefined;
  }

  /** Attaches to the kernel. Throws ExecMonitorOptionsError for bad options, Error when the OS refuses. */
  start(
    options: ExecMonitorOptions,
    initialRules: readonly RuleIdentity[] = [],
    binaryRules: Iterable<BinaryRuleChunk> = [],
    packages?: PackageDigests,
  ): void {
    if (this.#raw) throw new Error('exec monitor: already running; stop() it first');
    const problems = validateMonitorOptions(options);
    if (problems.length > 0) throw new ExecMonitorOptionsError(problems);
    const addon = this.#addon();
    const backend = options.backend ?? 'fanotify';
    const raw = new addon.Monitor(
      {
        backend,
        mode: options.mode,
        // Unset ones take the native defaults (AuthorizerOptions), written in one place.
        ...definedOnly({
          failClosed: options.failClosed,
          deadlineMs: options.deadlineMs,
          workers: options.workers,
          denyCacheMs: options.denyCacheMs,
          queueCapacity: options.queueCapacity,
          perUserJobs: options.perUserJobs,
          maxHashMiB: options.maxHashMiB,
          notifyQueueSize: options.notifyQueueSize,
          transitiveCapacity: options.transitiveCapacity,
        }),
        ...(options.watchPaths ? { watchPaths: [...options.watchPaths] } : {}),
        ...(options.scopes ? { scopes: options.scopes } : {}),
      },
      (decision) => {
        for (const listener of this.#listeners) listener(decision);
      },
    );
    // The whole table is in place before the kernel is asked to send anything.
    raw.setRules(initialRules);
    for (const chunk of binaryRules) raw.addBinaryRules(chunk.digests, chunk.policies);
    if (packages) raw.setPackages(true, packages.paths.join('\0'), packages.md5);
    if (options.transitiveRules) raw.loadTransitiveRules(options.transitiveRules);
    if (options.transitive) raw.setTransitive(true);
    raw.start();
    this.#raw = raw;
    this.#backend = backend;
  }

  /** Detaches from the kernel first (pending execs are allowed), then stops the native threads. */
  stop(): void {
    this.#raw?.stop();
    this.#raw = undefined;
    this.#backend = undefined;
  }

  /** Replaces the whole native rule table. */
  setRules(snapshot: readonly RuleIdentity[]): void {
    this.#running('setRules').setRules(snapshot);
  }

  /** Replaces the package table (or turns package trust off with null); caches are flushed. */
  setPackages(packages: PackageDigests | null): void {
    this.#running('setPackages').setPackages(
      packages !== null,
      packages?.paths.join('\0') ?? '',
      packages?.md5 ?? new Uint8Array(),
    );
  }

  /** Replaces the path scopes; caches and kernel ignore marks are flushed. */
  setScopes(scopes: PathScopes): void {
    this.#running('setScopes').setScopes(scopes);
  }

  /** Applies puts and removals in one step; caches and kernel ignore marks are flushed. */
  applyRuleChanges(delta: readonly RuleChange[]): void {
    this.#running('applyRuleChanges').applyRuleChanges(delta);
  }

  /** Puts BINARY rules in bulk (a large sync); caches and kernel ignore marks are flushed. */
  addBinaryRules(chunks: Iterable<BinaryRuleChunk>): void {
    const raw = this.#running('addBinaryRules');
    for (const chunk of chunks) raw.addBinaryRules(chunk.digests, chunk.policies);
  }

  /** failClosed unset: the native default (blocks what is not decided in time). */
  setMode(mode: ClientMode, failClosed?: boolean): void {
    if (!CLIENT_MODES.includes(mode)) {
      throw new ExecMonitorOptionsError([
        `mode must be MONITOR or LOCKDOWN, got ${JSON.stringify(mode)}`,
      ]);
    }
    this.#running('setMode').setMode(mode, failClosed);
  }

  flushCache(): void {
    this.#running('flushCache').flushCache();
  }

  /** Hears of every decision after the kernel has been answered. Returns the unsubscribe. */
  onDecision(listener: DecisionListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  metrics(): MonitorMetrics {
    return this.#running('metrics').metrics();
  }

  watched(): WatchedFilesystem[] {
    return this.#running('watched').watched();
  }

  /** Fake backend only: a scripted exec of a real file; resolves to whether it was allowed. */
  inject(
    path: string,
    process: { pid: number; ppid?: number; uid?: number; gid?: number },
  ): Promise<boolean> {
    const raw = this.#running('inject');
    if (this.#backend !== 'fake') throw new Error('exec monitor: inject() needs the fake backend');
    return raw.inject(path, process);
  }

  /** Turns transitive rules on or off; throws when this OS or build cannot track writes. */
  setTransitive(enabled: boolean): void {
    this.#running('setTransitive').setTransitive(enabled);
  }

  /** The transitive rules held now (what to keep for the next start). */
  transitiveRules(): TransitiveRule[] {
    return this.#running('transitiveRules').transitiveRules();
  }

  /** Puts kept transitive rules back (before or after start). */
  loadTransitiveRules(rules: readonly TransitiveRule[]): void {
    this.#running('loadTransitiveRules').loadTransitiveRules(rules);
  }

  /** Drops every transitive rule (a clean sync); returns how many there were. */
  clearTransitiveRules(): number {
    return this.#running('clearTransitiveRules').clearTransitiveRules();
  }

  /** Nanoseconds per native rule-table lookup for each SHA-256, as the exec path does it. */
  timeLookups(sha256s: readonly string[]): Float64Array {
    return this.#running('timeLookups').timeLookups(sha256s);
  }

  #running(what: string): RawMonitor {
    if (!this.#raw)
      throw new Error(`exec monitor: ${what}() needs a running monitor; call start() first`);
    return this.#raw;
  }
}
