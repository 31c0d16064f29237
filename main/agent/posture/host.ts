// What a posture check may read: commands and files of the machine it runs on. Checks receive a
// Host rather than calling Node directly, so that every status can be produced from prepared
// command outputs and file trees. Everything here is asynchronous: checks never block the
// service's event loop.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface CommandResult {
  /** The exit code; null when the command did not run or was killed. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Set when the command could not run to its end: not installed, killed, too much output. */
  readonly failure?: 'not-found' | 'aborted' | 'timeout' | 'error';
  readonly message?: string;
}

export interface RunOptions {
  readonly env?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface Host {
  run(command: string, args: readonly string[], options?: RunOptions): Promise<CommandResult>;
  readFile(path: string): Promise<Buffer>;
  readDir(path: string): Promise<string[]>;
  /** The path with every symbolic link resolved. */
  realpath(path: string): Promise<string>;
  /** Modification time in milliseconds since the epoch; undefined when the path does not exist. */
  mtime(path: string): Promise<number | undefined>;
  exists(path: string): Promise<boolean>;
}

/** Where commands are looked for: the service runs as root, so the sbin folders come first. */
export const SEARCH_PATH = [
  '/usr/local/sbin',
  '/usr/local/bin',
  '/usr/sbin',
  '/usr/bin',
  '/sbin',
  '/bin',
];

const MAX_OUTPUT = 4 * 1024 * 1024;

function spawnFailure(
  command: string,
  error: NodeJS.ErrnoException,
): Pick<CommandResult, 'failure' | 'message'> {
  return error.code === 'ENOENT'
    ? { failure: 'not-found', message: `${command} is not installed` }
    : { failure: 'error', message: `${command}: ${error.message}` };
}

/**
 * Runs a command without a shell; its output is collected, never interpreted by a shell. It runs
 * in a process group of its own, so that a timeout or an abort kills whatever it started too
 * (runuser's gsettings, ufw's iptables, apt-get's dpkg), not only the command.
 */
export function runCommand(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<CommandResult> {
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(command, [...args], {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { PATH: SEARCH_PATH.join(':'), LC_ALL: 'C', LANG: 'C', ...options.env },
      });
    } catch (error) {
      resolve({ code: null, stdout: '', stderr: '', ...spawnFailure(command, error as Error) });
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let ended: CommandResult['failure'] | undefined;
    let message: string | undefined;
    const killGroup = (why: CommandResult['failure'], text: string) => {
      if (ended) return;
      ended = why;
      message = text;
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_OUTPUT) killGroup('error', `${command} wrote more than ${MAX_OUTPUT} bytes`);
      else into.push(chunk);
    };
    child.stdout!.on('data', collect(out));
    child.stderr!.on('data', collect(err));
    const timer =
      options.timeoutMs && options.timeoutMs > 0
        ? setTimeout(
            () => killGroup('timeout', `${command} did not finish within ${options.timeoutMs} ms`),
            options.timeoutMs,
          )
        : undefined;
    const onAbort = () => killGroup('aborted', `${command} was stopped`);
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (result: CommandResult) => {
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve(result);
    };
    child.once('error', (error: NodeJS.ErrnoException) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      finish({ code: null, stdout, stderr, ...spawnFailure(command, error) });
    });
    child.once('close', (code) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (ended) return finish({ code: null, stdout, stderr, failure: ended, message: message! });
      finish({ code, stdout, stderr });
    });
  });
}

/**
 * The machine itself, or a prepared tree: with `root`, every path is read under that folder
 * (a test's fake /proc, /sys and /etc); commands always run for real unless `run` is given.
 */
export function systemHost(options: { root?: string; run?: Host['run'] } = {}): Host {
  const at = (path: string) => (options.root ? join(options.root, path) : path);
  return {
    run: options.run ?? runCommand,
    readFile: (path) => readFile(at(path)),
    readDir: (path) => readdir(at(path)),
    realpath: async (path) => {
      const resolved = await realpath(at(path));
      if (!options.root) return resolved;
      const root = await realpath(options.root);
      return resolved.startsWith(`${root}/`) ? resolved.slice(root.length) : '/';
    },
    mtime: async (path) => {
      try {
        return (await stat(at(path))).mtimeMs;
      } catch {
        return undefined;
      }
    },
    exists: async (path) => {
      try {
        await stat(at(path));
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** The first place a command is installed, or undefined. */
export async function findCommand(host: Host, name: string): Promise<string | undefined> {
  for (const dir of SEARCH_PATH) {
    const candidate = `${dir}/${name}`;
    if (await host.exists(candidate)) return candidate;
  }
  return undefined;
}

/** A command's output in one line, for evidence. */
export function oneLine(text: string, max = 300): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** How a command that did not succeed failed, for evidence. */
export function describeFailure(command: string, result: CommandResult): string {
  if (result.failure) return result.message ?? `${command} failed`;
  const said = oneLine(result.stderr || result.stdout);
  return `${command} exited with ${result.code}${said ? `: ${said}` : ''}`;
}
