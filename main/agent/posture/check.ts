// A posture check and the runner that runs a set of them: all at once, each with its own
// deadline. A check that has not answered by then is unknown, its commands are killed, and the
// others still report.
import type { PostureResult, PostureStatus } from '../../../common/posture';
import type { ClientMode } from '../../../common/rules';
import type { Host } from './host';

export interface Verdict {
  readonly status: PostureStatus;
  /** What was read and what it said; for unknown, why the check could not tell. */
  readonly evidence: string;
}

/** What the Gatehouse-healthy check reads from the running service. */
export interface GatehouseFacts {
  readonly mode: ClientMode;
  readonly monitorRunning: boolean;
  readonly backend: string;
  readonly syncBaseUrl: string | null;
  readonly lastSync: number | null;
  readonly lastSyncError: string | undefined;
  /** When the service started, milliseconds since the epoch. */
  readonly startedAt: number;
  /** The exec routes the monitor cannot gate here, and why ('' when none; null: not running). */
  readonly gateGaps: string | null;
}

export interface PostureSettings {
  /** macOS: the oldest version that passes, e.g. "14.0". */
  readonly minimumMacOSVersion: string;
  /** macOS: the oldest XProtect bundle version that passes. */
  readonly minimumXProtectVersion: number;
}

export interface CheckContext {
  readonly host: Host;
  readonly settings: PostureSettings;
  readonly gatehouse: () => GatehouseFacts;
  readonly now: () => number;
}

export interface PostureCheck {
  readonly id: string;
  readonly title: string;
  /** One line: what to do when the check does not pass. */
  readonly remediation: string;
  /** Its own deadline, when it needs one other than the runner's. */
  readonly timeoutMs?: number;
  run(context: CheckContext): Promise<Verdict>;
}

export const pass = (evidence: string): Verdict => ({ status: 'pass', evidence });
export const fail = (evidence: string): Verdict => ({ status: 'fail', evidence });
export const unknown = (evidence: string): Verdict => ({ status: 'unknown', evidence });

export const DEFAULT_CHECK_TIMEOUT_MS = 30_000;

/**
 * Runs every check concurrently. Each gets a host whose commands are killed when its deadline
 * passes; a check still running then is reported unknown, naming the command it was waiting on.
 */
export async function runChecks(
  checks: readonly PostureCheck[],
  context: CheckContext,
  timeoutMs = DEFAULT_CHECK_TIMEOUT_MS,
): Promise<PostureResult[]> {
  return Promise.all(checks.map((check) => runOne(check, context, check.timeoutMs ?? timeoutMs)));
}

async function runOne(
  check: PostureCheck,
  context: CheckContext,
  timeoutMs: number,
): Promise<PostureResult> {
  const controller = new AbortController();
  let waitingOn = '';
  const host: Host = {
    ...context.host,
    run: (command, args, options) => {
      waitingOn = [command, ...args].join(' ');
      return context.host.run(command, args, { ...options, signal: controller.signal });
    },
  };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Verdict>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve(
        unknown(
          `the check did not finish within ${formatDuration(timeoutMs)}` +
            (waitingOn ? ` (it was waiting for \`${waitingOn}\`)` : ''),
        ),
      );
    }, timeoutMs);
  });
  let verdict: Verdict;
  try {
    verdict = await Promise.race([
      check
        .run({ ...context, host })
        .catch((error: unknown) =>
          unknown(`the check failed: ${(error as Error)?.message ?? String(error)}`),
        ),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
    controller.abort(); // nothing a finished check started keeps running
  }
  return {
    id: check.id,
    title: check.title,
    status: verdict.status,
    evidence: verdict.evidence.slice(0, 2000),
    remediation: check.remediation,
    checkedAt: context.now(),
  };
}

function formatDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
