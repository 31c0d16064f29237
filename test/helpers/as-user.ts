// Runs programs as an unprivileged user (setpriv), as the attack tests' local user does.
import { spawnSync } from 'node:child_process';

export const NOBODY = 65534;

export interface RunAs {
  readonly status: number | null;
  /** What it printed, stdout then stderr. */
  readonly output: string;
  /** The exec itself was refused (by the monitor, or the kernel for it). */
  readonly refused: boolean;
  readonly ms: number;
}

/** Runs `command` as uid (its own group, no others) and waits for it. */
export function runAs(uid: number, command: readonly string[]): RunAs {
  const started = performance.now();
  const result = spawnSync(
    'setpriv',
    [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', ...command],
    { encoding: 'utf8', timeout: 60_000 },
  );
  const output = `${result.stdout}${result.stderr}`;
  return {
    status: result.status,
    output,
    refused: result.status !== 0 && /Operation not permitted/.test(output),
    ms: performance.now() - started,
  };
}
