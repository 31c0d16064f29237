// The agent core: configuration, stores and the exec monitor, wired together. The control socket
// and the service entry sit on top of this; everything here runs under plain Node.
import type {
  FileRuleTexts,
  RuleNotice,
  ServiceStatus,
  SettingSource,
  SyncedSettings,
} from '../../common/control';
import { explainVerdict, type Explanation } from '../../common/policy';
import type { PostureResult } from '../../common/posture';
import {
  parseRule,
  RuleError,
  type ClientMode,
  type RuleChange,
  type TransitiveRule,
} from '../../common/rules';
import { PRODUCT_VERSION } from '../../common/version';
import {
  ExecMonitor,
  nativeAddon,
  type ExecDecision,
  type MonitorMetrics,
} from '../../native/index';
import type { AgentConfig } from './config/config';
import { openDatabase, type Db } from './store/database';
import { EventStore, type StoredEvent } from './store/events';
import { RequestStore, type StoredRequest } from './store/requests';
import { RuleStore } from './store/rules';
import { SettingsStore, type ServerSettings } from './store/settings';
import { TransitiveStore } from './store/transitive';
import {
  dpkgStatusStamp,
  loadDpkgDigests,
  loadDpkgDigestsAsync,
  packageIndex,
  type DpkgTable,
  type PackagedFile,
} from './packages';
import { currentSessions, processName, userName } from './users';

/**
 * What the agent reports (common/control.ts declares it for callers of the control socket, which
 * adds its own figures); the monitor's counters are the native addon's to declare.
 */
export type AgentStatus = Omit<ServiceStatus, 'controlSocket' | 'metrics'> & {
  readonly metrics: MonitorMetrics | null;
};

export type AgentMessage =
  | { kind: 'event'; uid: number; event: StoredEvent }
  | { kind: 'request'; uid: number; request: StoredRequest }
  | { kind: 'rule'; uid: number; notice: RuleNotice }
  | { kind: 'status' };
export type AgentListener = (message: AgentMessage) => void;

export class Agent {
  readonly db: Db;
  readonly rules: RuleStore;
  readonly events: EventStore;
  readonly requests: RequestStore;
  readonly transitive: TransitiveStore;
  readonly monitor: ExecMonitor;
  readonly #settings: SettingsStore;
  /** What the sync server's preflight set: each wins over its config key once sent, as in Santa. */
  #server: ServerSettings;
  #transitiveTimer: NodeJS.Timeout | undefined;
  #config: AgentConfig;
  #mode: ClientMode;
  #backend: 'fanotify' | 'fake';
  readonly #listeners = new Set<AgentListener>();
  #expiryTimer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void)[] = [];
  #packages = new Map<string, PackagedFile>();
  #packageTable: DpkgTable | undefined;
  #packagesStamp = 0;
  #packageTimer: NodeJS.Timeout | undefined;
  readonly #dpkgInfoDir: string | undefined;
  readonly #log: (line: string) => void;

  constructor(
    config: AgentConfig,
    options: {
      backend?: 'fanotify' | 'fake';
      monitor?: ExecMonitor;
      dpkgInfoDir?: string;
      log?: (line: string) => void;
    } = {},
  ) {
    this.#dpkgInfoDir = options.dpkgInfoDir;
    this.#log = options.log ?? console.error;
    this.#config = config;
    this.#mode = config.clientMode;
    this.#backend = options.backend ?? 'fanotify';
    this.db = openDatabase(config.stateDir);
    this.rules = new RuleStore(this.db, config.staticRules);
    this.events = new EventStore(this.db, config.eventStoreLimit);
    this.requests = new RequestStore(this.db);
    this.transitive = new TransitiveStore(config.stateDir);
    this.#settings = new SettingsStore(this.db);
    this.#server = this.#settings.load();
    this.monitor = options.monitor ?? new ExecMonitor();
  }

  get config(): AgentConfig {
    return this.#config;
  }

  get mode(): ClientMode {
    return this.#mode;
  }

  start(): void {
    this.rules.expire();
    const table = this.rules.forNative();
    const packages = this.#config.trustPackageManagedBinaries
      ? loadDpkgDigests(this.#dpkgInfoDir)
      : undefined;
    if (packages) {
      this.#packageTable = packages;
      this.#packages = packageIndex(packages);
      this.#packagesStamp = dpkgStatusStamp();
    }
    this.monitor.start(
      {
        backend: this.#backend,
        mode: this.#mode,
        failClosed: this.#config.failClosed,
        deadlineMs: this.#config.deadlineMs,
        maxHashMiB: this.#config.maxExecutableSizeMB,
        scopes: {
          allowed: this.#config.allowedPathPrefixes,
          blocked: this.#config.blockedPathPrefixes,
        },
        ...(this.#config.watchPaths ? { watchPaths: this.#config.watchPaths } : {}),
      },
      table.others,
      table.binary,
      packages,
    );
    this.#startTransitive();
    const skipped = this.rules.skipped;
    if (skipped.count > 0) {
      this.#log(
        `rules: ${skipped.count} stored rules skipped: the exec monitor would refuse them (${skipped.first.join('; ')}${skipped.count > skipped.first.length ? '; …' : ''}). ` +
          'They stay in the store, unused, until rules.remove names them or a clean sync replaces them.',
      );
    }
    // Events name the package a file came from, so the table is read even without package
    // trust (then off the start-up path). dpkg touches its status file on every install and
    // removal: then the table is read again.
    if (!packages) void this.#refreshPackages(true);
    this.#packageTimer = setInterval(() => void this.#refreshPackages(), 30_000);
    this.#packageTimer.unref();
    this.#unsubscribe.push(
      this.rules.onChange((delta, bulk) => {
        if (!this.monitor.running) return;
        // A stored row the native table refused can still be removed or expire: it was never there.
        const usable = delta.filter(usableChange);
        if (usable.length > 0) this.monitor.applyRuleChanges(usable);
        if (bulk.length > 0) this.monitor.addBinaryRules(bulk);
      }),
      this.monitor.onDecision((decision) => this.#record(decision)),
    );
    this.#expiryTimer = setInterval(() => this.rules.expire(), 60_000);
    this.#expiryTimer.unref();
  }

  stop(): void {
    if (this.#transitiveTimer) clearInterval(this.#transitiveTimer);
    this.#saveTransitive();
    // The monitor first: the kernel lets every pending exec through before anything else closes.
    this.monitor.stop();
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    if (this.#expiryTimer) clearInterval(this.#expiryTimer);
    if (this.#packageTimer) clearInterval(this.#packageTimer);
    this.db.close();
  }

  /** Applies a reloaded config. What cannot change while running is reported, not applied. */
  reload(next: AgentConfig): string[] {
    const notes: string[] = [];
    for (const key of ['stateDir', 'socketPath', 'watchPaths', 'postureIntervalS'] as const) {
      if (JSON.stringify(next[key]) !== JSON.stringify(this.#config[key])) {
        notes.push(`config: ${key} changes take effect after a restart`);
      }
    }
    const modeChanged = next.clientMode !== this.#config.clientMode;
    const trustChanged =
      next.trustPackageManagedBinaries !== this.#config.trustPackageManagedBinaries;
    this.#config = next;
    if (modeChanged) this.#mode = next.clientMode;
    this.rules.setStaticRules(next.staticRules);
    if (this.monitor.running) {
      this.monitor.setMode(this.#mode, next.failClosed);
      this.monitor.setScopes({
        allowed: next.allowedPathPrefixes,
        blocked: next.blockedPathPrefixes,
      });
      if (trustChanged) {
        if (next.trustPackageManagedBinaries) {
          this.#packageTable ??= loadDpkgDigests(this.#dpkgInfoDir);
          this.#packages = packageIndex(this.#packageTable);
        }
        this.monitor.setPackages(next.trustPackageManagedBinaries ? this.#packageTable! : null);
      }
      this.#applyTransitive();
    }
    this.#emit({ kind: 'status' });
    return notes;
  }

  /** EnableTransitiveRules, unless the sync server said otherwise (Santa's preflight). */
  get transitiveEnabled(): boolean {
    return this.#server.enableTransitiveRules ?? this.#config.enableTransitiveRules;
  }

  /** EnableAllEventUpload, unless the sync server said otherwise. */
  get allEventUpload(): boolean {
    return this.#server.enableAllEventUpload ?? this.#config.enableAllEventUpload;
  }

  /** What the sync server has set so far (kept across restarts). */
  get serverSettings(): ServerSettings {
    return this.#server;
  }

  /** The sync server's enable_transitive_rules, applied after a successful sync. */
  setServerTransitive(enabled: boolean): void {
    this.applyServerSettings({ enableTransitiveRules: enabled });
  }

  /**
   * Settings from a successful sync's preflight: each one sent replaces the server's earlier word
   * (the others stay), is kept in the database, and takes effect at once.
   */
  applyServerSettings(settings: ServerSettings): void {
    const next = { ...this.#server, ...withoutUndefined(settings) };
    if (JSON.stringify(next) === JSON.stringify(this.#server)) return;
    const transitiveBefore = this.transitiveEnabled;
    this.#server = next;
    try {
      this.#settings.save(next);
    } catch (error) {
      this.#log(`sync settings: not kept for the next start: ${(error as Error).message}`);
    }
    if (this.transitiveEnabled !== transitiveBefore) this.#applyTransitive();
    this.#emit({ kind: 'status' });
  }

  /** Santa's settings as in force, each with where it came from (status). */
  syncedSettings(): SyncedSettings {
    const server = this.#server;
    const source = (value: unknown): SettingSource => (value === undefined ? 'config' : 'server');
    const url = server.eventDetailUrl ?? this.#config.eventDetailUrl;
    return {
      transitive: {
        enabled: this.transitiveEnabled,
        source: source(server.enableTransitiveRules),
        held: this.monitor.running
          ? this.monitor.metrics().transitiveRules
          : this.transitive.load().rules.length,
      },
      allEventUpload: {
        enabled: this.allEventUpload,
        source: source(server.enableAllEventUpload),
      },
      eventDetail: {
        url: url === undefined || url === 'null' ? null : url,
        text: server.eventDetailText ?? this.#config.eventDetailText ?? null,
        source: source(server.eventDetailUrl ?? server.eventDetailText),
      },
    };
  }

  /**
   * Synced rules that carry notification_app_name (Santa's "<name> can now be run"): each user
   * who was blocked on the program is told.
   */
  rulesArrived(notices: readonly RuleNotice[]): void {
    for (const notice of notices)
      for (const uid of this.events.blockedUids(notice.sha256))
        this.#emit({ kind: 'rule', uid, notice });
  }

  transitiveRules(): TransitiveRule[] {
    return this.monitor.running ? this.monitor.transitiveRules() : this.transitive.load().rules;
  }

  /** A CLEAN_ALL sync: every transitive rule goes (Santa keeps them through a plain CLEAN). */
  clearTransitiveRules(): number {
    const cleared = this.monitor.running ? this.monitor.clearTransitiveRules() : 0;
    this.transitive.save([]);
    return cleared;
  }

  #startTransitive(): void {
    const kept = this.transitive.load();
    if (kept.problem) this.#log(`transitive rules: ${kept.problem}`);
    this.monitor.loadTransitiveRules(kept.rules);
    this.#applyTransitive();
    // A snapshot now and then, so that a crash loses little; the native table is the truth.
    this.#transitiveTimer = setInterval(() => this.#saveTransitive(), 30_000);
    this.#transitiveTimer.unref();
  }

  #applyTransitive(): void {
    if (!this.monitor.running) return;
    try {
      this.monitor.setTransitive(this.transitiveEnabled);
    } catch (error) {
      this.#log(`transitive rules stay off: ${(error as Error).message}`);
    }
  }

  #saveTransitive(): void {
    if (!this.monitor.running) return;
    try {
      this.transitive.save(this.monitor.transitiveRules());
    } catch (error) {
      this.#log(`transitive rules: not saved: ${(error as Error).message}`);
    }
  }

  #lastSync: number | null = null;
  #posture: PostureResult[] = [];

  /** Keeps the latest posture results; the menu bar hears of them when they changed. */
  setPosture(results: readonly PostureResult[]): void {
    const changed = postureKey(results) !== postureKey(this.#posture);
    this.#posture = [...results];
    if (changed) this.#emit({ kind: 'status' });
  }

  get posture(): readonly PostureResult[] {
    return this.#posture;
  }

  /** When the last sync completed (milliseconds since the epoch). */
  recordSync(at: number): void {
    this.#lastSync = at;
    this.#emit({ kind: 'status' });
  }

  setMode(mode: ClientMode): void {
    this.#mode = mode;
    this.monitor.setMode(mode, this.#config.failClosed);
    this.#emit({ kind: 'status' });
  }

  onMessage(listener: AgentListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The package that installed this path, as dpkg names it. */
  packageOf(path: string): string | undefined {
    return this.#packages.get(path)?.owner;
  }

  /** Reads dpkg's md5sums again when dpkg has changed something; returns whether it did. */
  async #refreshPackages(force = false): Promise<boolean> {
    const stamp = dpkgStatusStamp();
    if (!force && stamp === this.#packagesStamp) return false;
    const packages = await loadDpkgDigestsAsync(this.#dpkgInfoDir);
    this.#packagesStamp = stamp;
    this.#packageTable = packages;
    this.#packages = packageIndex(packages);
    if (this.monitor.running && this.#config.trustPackageManagedBinaries)
      this.monitor.setPackages(packages);
    return true;
  }

  explain(identity: { sha256: string; md5?: string; path?: string }): Explanation & FileRuleTexts {
    const stored = this.rules.get('BINARY', identity.sha256);
    // A CEL rule matches nothing here: the file is explained as if it had no rule.
    const rule = stored?.enforced
      ? { type: stored.type, identifier: stored.identifier, policy: stored.enforced }
      : undefined;
    const packageIntact =
      this.#config.trustPackageManagedBinaries &&
      identity.path !== undefined &&
      identity.md5 !== undefined &&
      this.#packages.get(identity.path)?.md5 === identity.md5.toLowerCase();
    // Decided natively, with the precedence the exec path uses; explained here in words.
    const explanation = explainVerdict(
      nativeAddon().evaluate({ ...identity, packageIntact }, rule ? [rule] : [], this.#mode, {
        allowed: this.#config.allowedPathPrefixes,
        blocked: this.#config.blockedPathPrefixes,
      }),
    );
    return { ...explanation, ...ruleTexts(stored) };
  }

  status(): AgentStatus {
    const metrics = this.monitor.running ? this.monitor.metrics() : null;
    return {
      version: PRODUCT_VERSION,
      mode: this.#mode,
      failClosed: this.#config.failClosed,
      monitorRunning: this.monitor.running,
      backend: this.#backend,
      ruleCounts: this.rules.counts(),
      rulesHash: this.rules.rulesHash(),
      rulesSkipped: this.rules.skipped,
      cache: metrics && {
        cacheHits: metrics.cacheHits,
        cacheMisses: metrics.cacheMisses,
        ignoreMarks: metrics.ignoreMarks,
        filesHashed: metrics.filesHashed,
      },
      metrics,
      execGate: metrics && {
        gaps: metrics.gateGaps,
        deadline: metrics.deadlineAnswers,
        tooLarge: metrics.tooLargeAnswers,
        busy: metrics.busyAnswers + metrics.queueFullAnswers,
        openForWriting: metrics.writerOpenAnswers,
        writtenWhileDeciding: metrics.writtenAnswers,
        writeInvalidations: metrics.writeInvalidations,
        guardedFiles: metrics.guardedFiles,
        routeBlocks: metrics.routeBlocks,
        routeReports: metrics.routeReports,
      },
      watched: this.monitor.running ? this.monitor.watched() : [],
      eventsPendingUpload: this.events.countPendingUpload(),
      eventsDropped: this.events.dropped(),
      lastSync: this.#lastSync,
      syncBaseUrl: this.#config.syncBaseUrl ?? null,
      machineId: this.#config.machineId,
      posture: [...this.#posture],
      settings: this.syncedSettings(),
    };
  }

  #record(decision: ExecDecision): void {
    // Every answer that is not simply the rules' outcome (the deadline, a file too large to hash
    // or written while decided) is kept, in both modes, hashed or not.
    const kept =
      decision.decision.startsWith('BLOCK_') ||
      // Unlike Santa, which uploads no transitive allow: the console shows what was built here.
      decision.decision === 'ALLOW_TRANSITIVE' ||
      (decision.decision === 'ALLOW_UNKNOWN' && this.#mode === 'MONITOR') ||
      decision.reason !== undefined ||
      this.allEventUpload;
    if (!kept || (!decision.sha256 && decision.reason === undefined)) return;
    // Read now: the process may be gone in a moment.
    const user = userName(decision.uid);
    const parentName = processName(decision.ppid);
    const sessions = currentSessions();
    const store = (origin?: string) => {
      if (!this.db.open) return;
      const { id } = this.events.record({
        sha256: decision.sha256,
        path: decision.path,
        uid: decision.uid,
        ...(user ? { user } : {}),
        pid: decision.pid,
        ppid: decision.ppid,
        ...(parentName ? { parentName } : {}),
        decision: decision.decision,
        size: decision.size,
        ...(origin ? { package: origin } : {}),
        ...(decision.reason ? { reason: decision.reason } : {}),
        ...(decision.builtBy ? { builtBy: decision.builtBy } : {}),
        ...sessions,
      });
      const event = this.events.get(id);
      if (event) this.#emit({ kind: 'event', uid: decision.uid, event });
    };
    const packaged = this.#packages.get(decision.path);
    if (!packaged || !decision.sha256) return store();
    void this.#packageOrigin(decision.path, decision.sha256, packaged).then(store);
  }

  /**
   * The package a file came from, said only as far as it is true: a file at a path dpkg owns
   * whose contents are not what dpkg installed there is not that package's file, and the user
   * and the helpdesk must not be told it is.
   */
  async #packageOrigin(path: string, sha256: string, packaged: PackagedFile): Promise<string> {
    try {
      const file = await nativeAddon().sha256File(path);
      if (file.sha256 !== sha256) return `${packaged.owner} (path only: the file changed since)`;
      return file.md5 === packaged.md5
        ? packaged.owner
        : `${packaged.owner} (path only: not what the package installed)`;
    } catch {
      return `${packaged.owner} (path only: the file could not be read)`;
    }
  }

  /** Tells the user's menu bar that one of their requests changed (state or conversation). */
  requestChanged(request: StoredRequest): void {
    this.#emit({ kind: 'request', uid: request.uid, request });
  }

  #emit(message: AgentMessage): void {
    for (const listener of this.#listeners) listener(message);
  }
}

/** The block dialog's texts of a rule, those it has. */
function ruleTexts(rule: FileRuleTexts | undefined): FileRuleTexts {
  return {
    ...(rule?.customMsg ? { customMsg: rule.customMsg } : {}),
    ...(rule?.customUrl ? { customUrl: rule.customUrl } : {}),
    ...(rule?.eventDetailButtonLabel
      ? { eventDetailButtonLabel: rule.eventDetailButtonLabel }
      : {}),
  };
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function usableChange(change: RuleChange): boolean {
  try {
    parseRule(change, true);
    return true;
  } catch (error) {
    if (error instanceof RuleError) return false;
    throw error;
  }
}

/** What makes posture results different for the user: not when they were checked. */
function postureKey(results: readonly PostureResult[]): string {
  return JSON.stringify(results.map((r) => [r.id, r.title, r.status, r.evidence, r.remediation]));
}
