// When posture checks run in the service: at start, on a schedule, and on demand. One run at a
// time; a request during a run gets that run's results. Results go to the agent, which tells the
// menu bar (a status message) when they changed.
import type { PostureResult } from '../../../common/posture';
import { runChecks, type CheckContext, type PostureCheck } from './check';
import { LINUX_CHECKS } from './linux';
import { MACOS_CHECKS } from './macos';

/** The checks for this operating system; none where Gatehouse has none. */
export function checksFor(platform: NodeJS.Platform = process.platform): readonly PostureCheck[] {
  if (platform === 'linux') return LINUX_CHECKS;
  if (platform === 'darwin') return MACOS_CHECKS;
  return [];
}

/** Whether any check's status differs (a check appearing or going counts). */
export function statusesChanged(
  before: readonly PostureResult[],
  after: readonly PostureResult[],
): boolean {
  const key = (results: readonly PostureResult[]) =>
    results.map((result) => `${result.id}=${result.status}`).join('\n');
  return key(before) !== key(after);
}

export interface PostureMonitorOptions {
  readonly checks: readonly PostureCheck[];
  readonly context: CheckContext;
  readonly intervalMs: number;
  /** Each check's deadline, read at every run. */
  readonly timeoutMs: number | (() => number);
  readonly onResults: (results: PostureResult[]) => void;
}

export class PostureMonitor {
  readonly #options: PostureMonitorOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<PostureResult[]> | undefined;
  #stopped = false;

  constructor(options: PostureMonitorOptions) {
    this.#options = options;
  }

  start(): void {
    void this.runNow();
    this.#timer = setInterval(() => void this.runNow(), this.#options.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
  }

  /** Runs every check now, or joins the run in progress. */
  runNow(): Promise<PostureResult[]> {
    const { timeoutMs } = this.#options;
    this.#running ??= runChecks(
      this.#options.checks,
      this.#options.context,
      typeof timeoutMs === 'function' ? timeoutMs() : timeoutMs,
    )
      .then((results) => {
        if (!this.#stopped) this.#options.onResults(results);
        return results;
      })
      .finally(() => {
        this.#running = undefined;
      });
    return this.#running;
  }
}
