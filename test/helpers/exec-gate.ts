// The real exec gate for tests that attack it as nobody: a private tmpfs (LOCKDOWN never reaches
// beyond it) with a home folder nobody owns, and a fanotify monitor watching it (root only).
import { chownSync, mkdirSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { ExecMonitor, type ExecDecision, type ExecMonitorOptions } from '../../native/index';
import { NOBODY } from './as-user';
import { copyExecutable, mountTmpfs } from './files';

export interface GateOnTmpfs {
  /** Where the tmpfs is mounted. */
  readonly dir: string;
  /** nobody's home folder on it. */
  readonly home: string;
  /** The monitor the running test started, if it did. */
  readonly monitor: ExecMonitor | undefined;
  /** Starts a monitor on the tmpfs, in LOCKDOWN unless `options` say otherwise. */
  start(options?: Partial<ExecMonitorOptions>): {
    monitor: ExecMonitor;
    decisions: ExecDecision[];
  };
  /**
   * A copy of `source` in nobody's home and owned by nobody, with a SHA-256 no other test has;
   * padded with zeros to `bytes` when given (an ELF runs with a tail it never maps).
   */
  nobodysCopy(source?: string, bytes?: number): string;
}

/**
 * Mounts the tmpfs before the block's tests and unmounts it after them; a monitor a test starts
 * is stopped after that test. Call it inside the describe block.
 */
export function useGateOnTmpfs(name: string, size?: string): GateOnTmpfs {
  let tmpfs: ReturnType<typeof mountTmpfs> | undefined;
  let monitor: ExecMonitor | undefined;
  let counter = 0;
  const mounted = () => {
    if (!tmpfs) throw new Error(`the ${name} tmpfs is mounted only while its tests run`);
    return tmpfs.dir;
  };
  const home = () => join(mounted(), 'nobody');

  beforeAll(() => {
    tmpfs = mountTmpfs(name, size);
    mkdirSync(home());
    chownSync(home(), NOBODY, NOBODY);
  });
  afterAll(() => tmpfs?.unmount());
  afterEach(() => {
    monitor?.stop();
    monitor = undefined;
  });

  return {
    get dir() {
      return mounted();
    },
    get home() {
      return home();
    },
    get monitor() {
      return monitor;
    },
    start(options = {}) {
      const decisions: ExecDecision[] = [];
      monitor = new ExecMonitor();
      monitor.onDecision((decision) => decisions.push(decision));
      monitor.start({ mode: 'LOCKDOWN', ...options, watchPaths: [mounted()] });
      return { monitor, decisions };
    },
    nobodysCopy(source = '/bin/true', bytes) {
      counter++;
      const path = join(home(), `prog-${counter}`);
      copyExecutable(source, path, `${name}-${counter}-${Date.now()}`);
      if (bytes !== undefined) truncateSync(path, bytes);
      chownSync(path, NOBODY, NOBODY);
      return path;
    },
  };
}
