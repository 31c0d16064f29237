// Gatehouse on one machine, as `npm start` runs it: the backend (SQLite, 127.0.0.1) and, as
// root, the agent service with the real exec monitor, enrolled with that backend. Each runs in
// its own process, exactly as `npm run server` and `gatehouse --service` run; this module starts
// them in order, waits until each is ready, and stops them in reverse order.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { ClientMode } from '../common/rules';

export const ROOT = resolve(import.meta.dirname, '..');
const SETPRIV = '/usr/bin/setpriv';

export interface LocalStackOptions {
  /** Backend data, the agent's state and the generated secrets (default ./data). */
  readonly dataDir: string;
  /** The backend's port on 127.0.0.1 (0: any free one). */
  readonly port: number;
  readonly socketPath: string;
  readonly mode: ClientMode;
  /** Watch only the filesystems holding these paths (default: every local one). */
  readonly watchPaths?: readonly string[];
  /** Start the agent service (needs root). */
  readonly agent: boolean;
  /** Where the children's log lines go, prefixed with their name. */
  readonly log: (line: string) => void;
}

export interface LocalStack {
  readonly consoleUrl: string;
  readonly syncBaseUrl: string;
  /** undefined when the backend's database existed before and the password was not ours. */
  readonly adminPassword: string | undefined;
  readonly socketPath: string | undefined;
  readonly configPath: string | undefined;
  /** Resolves with a message when a child exits on its own (a crash, a bad config). */
  readonly failed: Promise<string>;
  /** Stops the backend alone (the agent keeps working without it), and starts it again. */
  stopServer(): Promise<void>;
  restartServer(): Promise<void>;
  stop(): Promise<void>;
}

/** A secret kept in dataDir/local across runs, so that the admin password and enrollment last. */
function persistentSecret(dir: string, name: string): { value: string; created: boolean } {
  const file = join(dir, name);
  if (existsSync(file)) return { value: readFileSync(file, 'utf8').trim(), created: false };
  const value = randomBytes(15).toString('base64url');
  writeFileSync(file, `${value}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return { value, created: true };
}

interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly exited: Promise<number | null>;
}

function startChild(
  name: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
  ready: RegExp,
): Promise<{ child: Child; match: RegExpMatchArray }> {
  // On Linux, setpriv asks the kernel to SIGTERM the child when this process dies, however it
  // dies (kill -9 included), so that no service is left running without its starter.
  const command = [process.execPath, '--import', 'tsx', ...args];
  const [file, ...argv] = existsSync(SETPRIV)
    ? [SETPRIV, '--pdeathsig', 'TERM', ...command]
    : command;
  const child = spawn(file!, argv, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return new Promise((resolve, reject) => {
    let matched = false;
    const recent: string[] = [];
    const onLine = (line: string) => {
      if (!matched) {
        const match = ready.exec(line);
        if (match) {
          matched = true;
          resolve({ child: { name, process: child, exited }, match });
          return;
        }
        recent.push(line);
        if (recent.length > 20) recent.shift();
      }
      log(`${name} | ${line}`);
    };
    for (const stream of [child.stdout!, child.stderr!]) {
      let buffer = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buffer += chunk;
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          onLine(buffer.slice(0, newline));
          buffer = buffer.slice(newline + 1);
        }
      });
    }
    void exited.then((code) => {
      if (!matched)
        reject(
          new Error(
            `the ${name} stopped before it was ready (exit ${code}):\n${recent.join('\n')}`,
          ),
        );
    });
  });
}

async function stopChild(child: Child, timeoutMs = 15_000): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), timeoutMs);
  await child.exited;
  clearTimeout(timer);
}

/** SHA-256 of a file, for the rules that keep Node and this checkout's programs runnable. */
function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/**
 * Why root must not run from this folder: it, a folder above it or anything in it (but `skip`)
 * is a link, not root's, or writable by others. Root runs the code here (and LOCKDOWN allows
 * its programs), so whoever could change it would be root.
 */
export function notRootsOnly(path: string, skip: readonly string[] = []): string | undefined {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const problem = unsafe(dir, lstatSync(dir));
    if (problem) return problem;
    if (dir === dirname(dir)) break;
  }
  const walk = (current: string): string | undefined => {
    const stats = lstatSync(current);
    if (stats.isSymbolicLink()) return undefined; // a link's own mode means nothing; its target is walked where it lives
    const problem = unsafe(current, stats);
    if (problem || !stats.isDirectory()) return problem;
    for (const name of readdirSync(current)) {
      const child = join(current, name);
      if (skip.includes(child)) continue;
      const found = walk(child);
      if (found) return found;
    }
    return undefined;
  };
  return walk(path);
}

function unsafe(path: string, stats: Stats): string | undefined {
  if (stats.uid !== 0) return `${path} belongs to uid ${stats.uid}`;
  // A sticky folder (/tmp) lets nobody replace what root put there.
  if (stats.mode & 0o022 && !(stats.isDirectory() && stats.mode & 0o1000))
    return `${path} is writable by others (mode ${(stats.mode & 0o7777).toString(8)})`;
  return undefined;
}

/** npm's own script, through which the commands npm start suggests run (`npm run -s ctl --`). */
function npmScript(): string | undefined {
  const candidates = [
    process.env.npm_execpath,
    ...(process.env.PATH ?? '').split(':').map((dir) => (dir ? join(dir, 'npm') : undefined)),
  ];
  for (const candidate of candidates)
    if (candidate && existsSync(candidate)) return realpathSync(candidate);
  return undefined;
}

/** Every executable file below these folders, for ALLOWLIST rules by SHA-256. */
function executablesIn(...dirs: string[]): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && statSync(path).mode & 0o111) found.push(path);
    }
  };
  for (const dir of dirs) if (existsSync(dir)) walk(dir);
  return found;
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const dataDir = resolve(options.dataDir);
  const localDir = join(dataDir, 'local');
  mkdirSync(localDir, { recursive: true, mode: 0o700 });
  if (options.agent) {
    // The agent's configuration, state and secrets, and the code root runs, must be root's alone.
    const checkout = notRootsOnly(ROOT, [join(ROOT, '.git'), dataDir]);
    if (checkout)
      throw new Error(
        `root will not run Gatehouse from ${ROOT}: ${checkout}. Use a checkout only root can change (clone and npm install as root), or run npm start as yourself without the agent`,
      );
    const data = notRootsOnly(dataDir);
    if (data)
      throw new Error(
        `root will not keep the agent's state in ${dataDir}: ${data}. Choose another folder with --data, or remove this one`,
      );
  }
  const admin = persistentSecret(localDir, 'admin-password');
  const enrollment = persistentSecret(localDir, 'enrollment-secret');
  const firstStart = !existsSync(join(dataDir, 'gatehouse-server.db'));

  const children: Child[] = [];
  let server: Child | undefined;
  let stopped = false;
  let reportFailure: (why: string) => void = () => undefined;
  const failed = new Promise<string>((resolve) => (reportFailure = resolve));
  const watch = (child: Child) =>
    void child.exited.then((code) => {
      if (!stopped && children.includes(child))
        reportFailure(`the ${child.name} stopped (exit ${code})`);
    });
  const stop = async () => {
    stopped = true;
    // The service first: the kernel lets every exec it holds through before anything else goes.
    for (const child of children.splice(0).reverse()) await stopChild(child);
  };
  const launchServer = async (port: number) => {
    const started = await startChild(
      'server',
      [join(ROOT, 'server/server.ts')],
      {
        GATEHOUSE_DATA_DIR: dataDir,
        GATEHOUSE_SERVER_HOST: '127.0.0.1',
        GATEHOUSE_SERVER_PORT: String(port),
        GATEHOUSE_ENROLLMENT_SECRET: enrollment.value,
        GATEHOUSE_ADMIN_PASSWORD: admin.value,
      },
      options.log,
      /listening on (http:\/\/\S+)/,
    );
    server = started.child;
    children.unshift(server);
    watch(server);
    return started.match[1]!;
  };
  try {
    const address = await launchServer(options.port);
    // The password file is ours; it is the admin's password if the database was created with it.
    const adminPassword = firstStart || !admin.created ? admin.value : undefined;

    let configPath: string | undefined;
    if (options.agent) {
      configPath = join(localDir, 'config.json');
      const npm = npmScript();
      const config = {
        ClientMode: options.mode,
        // LOCKDOWN's safe settings, said outright: an exec not decided in time is blocked, and
        // a file too large to hash is decided by path scopes alone.
        FailClosed: true,
        DeadlineMs: 5000,
        MaxExecutableSizeMB: 1024,
        SyncBaseURL: `${address}/santa/`,
        EnrollmentSecret: enrollment.value,
        StateDir: join(localDir, 'agent'),
        SocketPath: options.socketPath,
        // What keeps this machine working while it runs in LOCKDOWN: what dpkg installed
        // (unchanged), Node itself, npm (it runs gatehousectl here), and the programs of this
        // checkout (its commands, tsx, esbuild, Electron), each by its SHA-256, so that nothing
        // new put there runs. npm is dpkg's only where it came with Debian's nodejs, unchanged.
        TrustPackageManagedBinaries: true,
        StaticRules: [
          {
            identifier: sha256File(process.execPath),
            rule_type: 'BINARY',
            policy: 'ALLOWLIST',
            custom_msg: 'Node.js, which runs Gatehouse here',
          },
          ...(npm
            ? [
                {
                  identifier: sha256File(npm),
                  rule_type: 'BINARY',
                  policy: 'ALLOWLIST',
                  custom_msg: 'npm, which runs gatehousectl here',
                },
              ]
            : []),
          ...executablesIn(join(ROOT, 'node_modules'), join(ROOT, 'scripts/bin')).map((path) => ({
            identifier: sha256File(path),
            rule_type: 'BINARY',
            policy: 'ALLOWLIST',
            comment: `part of this Gatehouse checkout: ${path}`,
          })),
        ],
        ...(options.watchPaths ? { WatchPaths: options.watchPaths } : {}),
      };
      rmSync(configPath, { force: true });
      writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`, {
        mode: 0o600,
        flag: 'wx',
      });
      const { child: service } = await startChild(
        'service',
        [join(ROOT, 'main/agent/service.ts'), '--config', configPath],
        {},
        options.log,
        /^gatehouse service \S+: (MONITOR|LOCKDOWN)/,
      );
      children.push(service);
      watch(service);
    }
    return {
      consoleUrl: `${address}/console`,
      syncBaseUrl: `${address}/santa/`,
      adminPassword,
      socketPath: options.agent ? options.socketPath : undefined,
      configPath,
      failed,
      stopServer: async () => {
        const running = server;
        if (!running) return;
        children.splice(children.indexOf(running), 1);
        server = undefined;
        await stopChild(running);
      },
      restartServer: async () => {
        if (server) return;
        await launchServer(Number(new URL(address).port));
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
