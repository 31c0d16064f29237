// How often one user may ask for work that costs the backend or the machine: any local user may
// connect, so a sync or a posture run on demand is paced per user.

/** How often one user (other than root, for requests) may start a sync. */
export const SYNC_INTERVAL_MS = 10_000;
/** How often a user other than root may ask for the posture checks to run. */
export const POSTURE_RUN_INTERVAL_MS = 30_000;

/** When each user last went ahead, against one interval. */
export class UserPace {
  readonly intervalMs: number;
  readonly #last = new Map<number, number>();

  constructor(intervalMs: number) {
    this.intervalMs = intervalMs;
  }

  /** How long ago this user last went, when that is too recent; else records now. */
  tooSoon(uid: number, now = Date.now()): number | undefined {
    const since = now - (this.#last.get(uid) ?? 0);
    if (since < this.intervalMs) return since;
    this.#last.set(uid, now);
    return undefined;
  }

  /** How long this user must still wait (0 or less: not at all). */
  wait(uid: number, now = Date.now()): number {
    return (this.#last.get(uid) ?? 0) + this.intervalMs - now;
  }

  went(uid: number, now = Date.now()): void {
    this.#last.set(uid, now);
  }
}

/**
 * The syncs users start: by `sync`, and by each new approval request, which must reach the
 * helpdesk soon. Both count against the user's one sync interval.
 */
export class SyncPace extends UserPace {
  readonly #start: (() => void) | undefined;
  /** A sync a user's new request will start when that user's sync interval has passed. */
  readonly #deferred = new Map<number, NodeJS.Timeout>();

  constructor(intervalMs: number, start: (() => void) | undefined) {
    super(intervalMs);
    this.#start = start;
  }

  get start(): (() => void) | undefined {
    return this.#start;
  }

  /**
   * Starts the sync a user's new request asks for: at once when the user's interval has
   * passed, else once when it does (the request waits queued meanwhile). root's go at once, as
   * root may run the posture checks at any time.
   */
  forRequest(uid: number): void {
    const start = this.#start;
    if (!start) return;
    if (uid === 0) return start();
    const wait = this.wait(uid);
    if (wait <= 0) {
      this.went(uid);
      return start();
    }
    if (this.#deferred.has(uid)) return;
    const timer = setTimeout(() => {
      this.#deferred.delete(uid);
      this.went(uid);
      start();
    }, wait);
    timer.unref();
    this.#deferred.set(uid, timer);
  }

  close(): void {
    for (const timer of this.#deferred.values()) clearTimeout(timer);
    this.#deferred.clear();
  }
}
