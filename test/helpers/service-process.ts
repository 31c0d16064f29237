// The agent service as its own process (as systemd runs it), and what the kernel says about it:
// for tests that attack it from other processes and measure what it costs the service.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mountTmpfs, tempDir } from './files';
import { until } from './wait';

const root = join(import.meta.dirname, '../..');
const serviceScript = join(root, 'main/agent/service.ts');

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts `gatehouse --service` under tsx and waits until it says it is serving. */
export async function startServiceProcess(
  configPath: string,
  backend: 'fanotify' | 'fake' = 'fanotify',
): Promise<ServiceProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', serviceScript, '--backend', backend, '--config', configPath],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (data: Buffer) => (stderr += data.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  try {
    await until(
      () => stderr.includes('gatehouse service ') || child.exitCode !== null,
      'the service to start',
      60_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  if (child.exitCode !== null) throw new Error(`the service did not start:\n${stderr}`);
  return { child, pid: child.pid!, stderr: () => stderr, stop };
}

/** Where a test's service keeps its state, socket and config. */
export interface ServiceFolder {
  readonly configPath: string;
  readonly socketPath: string;
}

/**
 * Writes a LOCKDOWN config that watches only `watchDir` (a private tmpfs), with state, socket and
 * config in `stateDir`, opened as /run/gatehouse is so that every user may reach the socket.
 */
export function lockdownServiceConfig(
  stateDir: string,
  watchDir: string,
  settings: Record<string, unknown>,
): ServiceFolder {
  chmodSync(stateDir, 0o755);
  const socketPath = join(stateDir, 'gatehouse.sock');
  const configPath = join(stateDir, 'config.json');
  const config = {
    ClientMode: 'LOCKDOWN',
    WatchPaths: [watchDir],
    StateDir: join(stateDir, 'db'),
    SocketPath: socketPath,
    ...settings,
  };
  writeFileSync(configPath, JSON.stringify(config));
  return { configPath, socketPath };
}

/** A service in LOCKDOWN that watches a private tmpfs of its own. */
export interface LockdownService<Service> {
  /** The tmpfs the service watches. */
  readonly watchDir: string;
  readonly socketPath: string;
  readonly service: Service;
  /** Stops the service, unmounts the tmpfs and removes the state folder. */
  close(): Promise<void>;
}

/**
 * Mounts a private tmpfs, writes a LOCKDOWN config that watches it with what `settings` returns
 * (it may put files on the tmpfs first) in a state folder of its own (lockdownServiceConfig), and
 * starts the service on that config with `start`: as its own process or in this one.
 */
export async function startLockdownService<Service extends { stop(): unknown }>(
  prefix: string,
  settings: (watchDir: string) => Record<string, unknown>,
  start: (configPath: string) => Promise<Service>,
): Promise<LockdownService<Service>> {
  const tmpfs = mountTmpfs(prefix);
  const state = tempDir(`${prefix}-state`);
  const removeFolders = () => {
    tmpfs.unmount();
    state.remove();
  };
  try {
    const folder = lockdownServiceConfig(state.dir, tmpfs.dir, settings(tmpfs.dir));
    const service = await start(folder.configPath);
    return {
      watchDir: tmpfs.dir,
      socketPath: folder.socketPath,
      service,
      async close() {
        await service.stop();
        removeFolders();
      },
    };
  } catch (error) {
    removeFolders();
    throw error;
  }
}

/** Resident memory of a process, in bytes (VmRSS). */
export function residentBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** How many file descriptors a process holds. */
export function openDescriptors(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Runs a command as nobody (uid and gid 65534, no supplementary groups). */
export function spawnAsNobody(command: string, args: readonly string[]): ChildProcess {
  return spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', command, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
}

/** Collects a child's JSON lines on stdout; `last()` is the newest one. */
export function jsonLines<T>(child: ChildProcess): { last(): T | undefined; all(): T[] } {
  const lines: T[] = [];
  let buffer = '';
  child.stdout!.on('data', (data: Buffer) => {
    buffer += data.toString();
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (line.trim()) lines.push(JSON.parse(line) as T);
    }
  });
  return { last: () => lines.at(-1), all: () => lines };
}
