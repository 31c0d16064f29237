// Prepared machines for posture checks: a folder standing in for / (files and symbolic links as
// /proc, /sys and /etc hold them) and scripted command outputs.
import { mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CheckContext, GatehouseFacts, PostureCheck } from '../../main/agent/posture/check';
import type { CommandResult, Host } from '../../main/agent/posture/host';
import { systemHost } from '../../main/agent/posture/host';
import { tempDir } from './files';

export const fixturesDir = join(import.meta.dirname, '../unit/fixtures/posture');

/** A recorded command output or file from test/unit/fixtures/posture. */
export function fixture(name: string): string {
  return readFileSync(join(fixturesDir, name), 'utf8');
}

export type Entry =
  string | Buffer | { link: string } | { dir: true } | { text: string | Buffer; mtime: number };

/** A temporary root: paths are absolute as on the machine ("/etc/ssh/sshd_config"). */
export function fakeRoot(entries: Record<string, Entry>): { root: string; remove(): void } {
  const dir = tempDir('posture-root');
  for (const [path, entry] of Object.entries(entries)) {
    const target = join(dir.dir, path);
    if (typeof entry === 'object' && 'dir' in entry) {
      mkdirSync(target, { recursive: true });
      continue;
    }
    mkdirSync(dirname(target), { recursive: true });
    if (typeof entry === 'object' && 'link' in entry) symlinkSync(entry.link, target);
    else if (typeof entry === 'object' && 'mtime' in entry) {
      writeFileSync(target, entry.text);
      utimesSync(target, entry.mtime / 1000, entry.mtime / 1000);
    } else writeFileSync(target, entry);
  }
  return { root: dir.dir, remove: dir.remove };
}

export type Scripted =
  Partial<CommandResult> | string | ((signal?: AbortSignal) => Promise<CommandResult>);

/**
 * Commands answer from the script, keyed by the command line ("ufw status"); a string is the
 * stdout of a successful run. Anything else is not installed. Every call is recorded.
 */
export function scriptedRun(script: Record<string, Scripted>): {
  run: Host['run'];
  calls: string[];
} {
  const calls: string[] = [];
  return {
    calls,
    run: async (command, args, options) => {
      const line = [command, ...args].join(' ');
      calls.push(line);
      const answer = script[line];
      if (answer === undefined)
        return {
          code: null,
          stdout: '',
          stderr: '',
          failure: 'not-found',
          message: `${command} is not installed`,
        };
      if (typeof answer === 'function') return answer(options?.signal);
      if (typeof answer === 'string') return { code: 0, stdout: answer, stderr: '' };
      return { code: 0, stdout: '', stderr: '', ...answer };
    },
  };
}

export const HEALTHY: GatehouseFacts = {
  mode: 'LOCKDOWN',
  monitorRunning: true,
  backend: 'fanotify',
  syncBaseUrl: null,
  lastSync: null,
  lastSyncError: undefined,
  startedAt: 0,
  gateGaps: '',
};

export const NOW = Date.parse('2026-11-20T12:00:00Z');

export function contextFor(
  host: Host,
  overrides: Partial<Omit<CheckContext, 'host'>> = {},
): CheckContext {
  return {
    host,
    settings: { minimumMacOSVersion: '14.0', minimumXProtectVersion: 2162 },
    gatehouse: () => HEALTHY,
    now: () => NOW,
    ...overrides,
  };
}

/** Runs one check on a prepared machine; the folder is removed afterwards. */
export async function runOn(
  check: PostureCheck,
  machine: { files?: Record<string, Entry>; commands?: Record<string, Scripted> },
  overrides: Partial<Omit<CheckContext, 'host'>> = {},
) {
  const tree = fakeRoot(machine.files ?? {});
  try {
    const { run } = scriptedRun(machine.commands ?? {});
    return await check.run(contextFor(systemHost({ root: tree.root, run }), overrides));
  } finally {
    tree.remove();
  }
}
