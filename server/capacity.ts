// What one server process can hold, decided at start: push streams are long-lived connections,
// one descriptor each, so the process's open-files limit is raised to its hard limit (Node does
// this itself; the agent's raiseOpenFileLimit makes sure and says why not) and the stream limit
// is kept below it, leaving RESERVED_DESCRIPTORS for the database pool, the console and sync
// requests. A stream past the limit is refused with a 429 (push.ts) instead of the process
// running out of descriptors, which would hang the console and sync as well.
import { raiseOpenFileLimit, type OpenFileLimit } from '../main/agent/limits';
import { DEFAULT_MAX_MACHINES } from './db/enrollment';
import { DEFAULT_MAX_STREAMS } from './push';

export const RESERVED_DESCRIPTORS = 1024;

export interface Capacity {
  readonly maxStreams: number;
  /** Machines the server holds before it refuses new ones (GATEHOUSE_MAX_MACHINES). */
  readonly maxMachines: number;
  readonly openFiles: OpenFileLimit | undefined;
  /** What the server says about it at start, one line each. */
  readonly notes: readonly string[];
}

/** GATEHOUSE_MAX_STREAMS, checked: a whole number from 1 up. */
function configuredStreams(env: NodeJS.ProcessEnv): number {
  const raw = env.GATEHOUSE_MAX_STREAMS;
  if (raw === undefined) return DEFAULT_MAX_STREAMS;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(
      `server: GATEHOUSE_MAX_STREAMS must be a whole number of push streams from 1 up, got "${raw}"`,
    );
  return value;
}

/** GATEHOUSE_MAX_MACHINES, checked: a whole number from 1 up. */
function configuredMachines(env: NodeJS.ProcessEnv): number {
  const raw = env.GATEHOUSE_MAX_MACHINES;
  if (raw === undefined) return DEFAULT_MAX_MACHINES;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < 1)
    throw new Error(
      `server: GATEHOUSE_MAX_MACHINES must be a whole number of machines from 1 up, got "${raw}"`,
    );
  return value;
}

export function serverCapacity(
  env: NodeJS.ProcessEnv,
  raise: typeof raiseOpenFileLimit = raiseOpenFileLimit,
): Capacity {
  const wanted = configuredStreams(env);
  const maxMachines = configuredMachines(env);
  const { limit, raisedFrom, problem } = raise();
  const notes: string[] = [];
  if (raisedFrom !== undefined)
    notes.push(`open files limit raised from ${raisedFrom} to ${limit!.soft}`);
  if (!limit) return { maxStreams: wanted, maxMachines, openFiles: undefined, notes };
  const room = Math.max(1, limit.soft - RESERVED_DESCRIPTORS);
  const maxStreams = Math.min(wanted, room);
  notes.push(
    `holds at most ${maxStreams} push streams (open files limit ${limit.soft}, ${RESERVED_DESCRIPTORS} kept for everything else)`,
  );
  if (maxStreams < wanted)
    notes.push(
      `GATEHOUSE_MAX_STREAMS asks for ${wanted}, more than the open files limit allows${problem ? ` (${problem})` : ''}: raise LimitNOFILE (systemd) or ulimit -n to ${wanted + RESERVED_DESCRIPTORS}`,
    );
  return { maxStreams, maxMachines, openFiles: limit, notes };
}
