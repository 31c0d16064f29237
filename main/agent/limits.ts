// The service's file descriptors. fanotify hands the service one descriptor for every exec it is
// asked to decide; when the process has none left the kernel denies the exec, whatever the rules
// say and in MONITOR too. So the soft limit goes up to the hard one at start (Node does this
// itself, Electron run as Node may not), and what else holds descriptors is capped far below it.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface OpenFileLimit {
  readonly soft: number;
  readonly hard: number;
}

/**
 * Descriptors the exec path may need at once: one for each exec waiting for its hash (the
 * monitor's default queue of 4096) plus those being hashed and answered, with room to spare.
 */
export const EXEC_PATH_DESCRIPTORS = 4096 + 512;
/** Everything else: SQLite, the posture checks' pipes, the sync client's sockets, the addon. */
export const OTHER_DESCRIPTORS = 256;

/** RLIMIT_NOFILE of a process, from /proc (Linux); undefined where there is no /proc. */
export function readOpenFileLimit(pid: number | 'self' = 'self'): OpenFileLimit | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/limits`, 'utf8');
  } catch {
    return undefined;
  }
  const match = /^Max open files\s+(\S+)\s+(\S+)\s+files/m.exec(text);
  if (!match) return undefined;
  const value = (field: string) => (field === 'unlimited' ? Infinity : Number(field));
  return { soft: value(match[1]!), hard: value(match[2]!) };
}

/** How many descriptors this process holds now (Linux); undefined where there is no /proc. */
export function countOpenFiles(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}

/**
 * Raises the soft RLIMIT_NOFILE of a process to its hard limit (no privilege needed for one's
 * own process) with util-linux's prlimit, Node having no setrlimit. Returns the limit in force
 * and, when it could not be raised, why.
 */
export function raiseOpenFileLimit(
  pid: number = process.pid,
  prlimit: (args: string[]) => void = (args) =>
    void execFileSync('prlimit', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 5_000 }),
): { limit: OpenFileLimit | undefined; raisedFrom?: number; problem?: string } {
  const before = readOpenFileLimit(pid);
  if (!before || before.soft >= before.hard) return { limit: before };
  try {
    prlimit([`--pid=${pid}`, `--nofile=${before.hard}:${before.hard}`]);
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    return {
      limit: before,
      problem: `prlimit could not raise it: ${stderr || (error as Error).message}`,
    };
  }
  const after = readOpenFileLimit(pid) ?? before;
  return after.soft > before.soft
    ? { limit: after, raisedFrom: before.soft }
    : { limit: after, problem: 'prlimit ran but the limit did not change' };
}

/**
 * At start: the soft limit raised to the hard one, and a warning when it still leaves less than
 * the exec path and the control socket can need together.
 */
export function ensureOpenFileLimit(
  socketDescriptors: number,
  log: (line: string) => void,
  raise: typeof raiseOpenFileLimit = raiseOpenFileLimit,
): OpenFileLimit | undefined {
  const { limit, raisedFrom, problem } = raise();
  if (!limit) return undefined;
  const needed = EXEC_PATH_DESCRIPTORS + socketDescriptors + OTHER_DESCRIPTORS;
  if (raisedFrom !== undefined)
    log(`gatehouse service: open files limit raised from ${raisedFrom} to ${limit.soft}`);
  if (limit.soft < needed) {
    log(
      `gatehouse service: only ${limit.soft} open files allowed (RLIMIT_NOFILE ${limit.soft}/${limit.hard}${problem ? `; ${problem}` : ''}); ` +
        `the exec monitor may need ${EXEC_PATH_DESCRIPTORS} while execs wait and the control socket up to ${socketDescriptors}, ` +
        `and an exec the kernel cannot hand a descriptor for is refused: set LimitNOFILE=${Math.max(needed, 65_536)} for the service`,
    );
  }
  return limit;
}
