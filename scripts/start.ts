// `npm start`: Gatehouse on this machine. The backend with its helpdesk console, and as root the
// agent service with the real exec monitor (LOCKDOWN; --monitor for MONITOR), enrolled with it;
// then the menu-bar app where Electron can run. Ctrl-C stops all of it, the service first.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { DEFAULT_SOCKET_PATH } from '../main/agent/control/client';
import { findElectronBinary } from './electron-binary';
import { ROOT, startLocalStack, type LocalStack } from './local-stack';

const USAGE = `usage: npm start [-- options]

  --monitor        record unknown programs instead of blocking them (MONITOR mode)
  --port N         the backend's port on 127.0.0.1 (default 8080; 0 for any free one)
  --data DIR       backend data and the agent's state (default ./data)
  --socket PATH    the control socket (default ${DEFAULT_SOCKET_PATH})
  --watch PATH     enforce only on the filesystem holding PATH (repeatable; default: all)
  --no-app         do not open the menu-bar app`;

interface StartOptions {
  monitor: boolean;
  port: number;
  dataDir: string;
  socketPath: string;
  watchPaths: string[];
  app: boolean;
}

function parseArgs(argv: readonly string[]): StartOptions | string {
  const options: StartOptions = {
    monitor: false,
    port: 8080,
    dataDir: join(ROOT, 'data'),
    socketPath: DEFAULT_SOCKET_PATH,
    watchPaths: [],
    app: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new Error(`${arg} needs a value`);
      i++;
      return next;
    };
    try {
      if (arg === '--monitor') options.monitor = true;
      else if (arg === '--no-app') options.app = false;
      else if (arg === '--port') {
        const port = Number(value());
        if (!Number.isInteger(port) || port < 0 || port > 65535)
          return `--port must be a port number (0 to 65535), got ${JSON.stringify(argv[i])}`;
        options.port = port;
      } else if (arg === '--data') options.dataDir = resolve(value());
      else if (arg === '--socket') {
        const path = value();
        if (!isAbsolute(path))
          return `--socket must be an absolute path, got ${JSON.stringify(path)}`;
        options.socketPath = path;
      } else if (arg === '--watch') {
        const path = value();
        if (!isAbsolute(path))
          return `--watch must be an absolute path, got ${JSON.stringify(path)}`;
        options.watchPaths.push(path);
      } else return `unexpected argument ${JSON.stringify(arg)}`;
    } catch (error) {
      return (error as Error).message;
    }
  }
  return options;
}

/** The web apps the backend serves from their builds: each built once when it is missing. */
const WEB_APPS = [
  { dir: 'console', name: 'the helpdesk console' },
  { dir: 'portal', name: 'the employee portal' },
] as const;

function ensureWebAppsBuilt(): void {
  for (const { dir, name } of WEB_APPS) {
    if (existsSync(join(ROOT, `out/${dir}/index.html`))) continue;
    console.log(`gatehouse: building ${name} (once)…`);
    const result = spawnSync(
      join(ROOT, 'node_modules/.bin/vite'),
      ['build', '--logLevel', 'error', '--config', join(ROOT, `server/${dir}/vite.config.ts`)],
      { cwd: ROOT, stdio: 'inherit' },
    );
    if (result.status !== 0) throw new Error(`gatehouse: ${name} did not build`);
  }
}

/** The menu-bar app runs as the desktop user, never as root. */
function startApp(isRoot: boolean): { child?: ChildProcess; line: string } {
  const electron = findElectronBinary(join(ROOT, 'node_modules', 'electron'));
  if (!electron.found) return { line: `the menu-bar app cannot open here: ${electron.reason}` };
  const sudoUid = Number(process.env.SUDO_UID);
  const sudoGid = Number(process.env.SUDO_GID);
  if (isRoot && !(sudoUid > 0)) {
    return {
      line: 'the menu-bar app runs as the desktop user: start Gatehouse with sudo from that user, or run `npm start -- --no-app` as root and open the app as the user',
    };
  }
  const built = spawnSync(join(ROOT, 'node_modules/.bin/electron-vite'), ['build'], {
    cwd: ROOT,
    stdio: 'ignore',
  });
  if (built.status !== 0)
    return { line: 'the menu-bar app did not build (npm run build says why)' };
  const child = spawn(electron.path, [ROOT], {
    cwd: ROOT,
    stdio: 'ignore',
    ...(isRoot ? { uid: sudoUid, gid: sudoGid } : {}),
  });
  return { child, line: 'the menu-bar app is open' };
}

async function main(): Promise<number> {
  if (process.argv.includes('--help')) {
    console.log(USAGE);
    return 0;
  }
  const options = parseArgs(process.argv.slice(2));
  if (typeof options === 'string') {
    console.error(`gatehouse: ${options}\n\n${USAGE}`);
    return 2;
  }
  const isRoot = process.getuid?.() === 0;
  ensureWebAppsBuilt();
  if (!isRoot) {
    console.log(
      'gatehouse: not root, so no agent: blocking programs needs the exec monitor, which needs root (sudo npm start); running the backend and the menu-bar app only',
    );
  }
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      dataDir: options.dataDir,
      port: options.port,
      socketPath: options.socketPath,
      mode: options.monitor ? 'MONITOR' : 'LOCKDOWN',
      ...(options.watchPaths.length > 0 ? { watchPaths: options.watchPaths } : {}),
      agent: isRoot,
      log: (line) => console.error(line),
    });
  } catch (error) {
    const message = (error as Error).message;
    console.error(
      /EADDRINUSE/.test(message)
        ? `gatehouse: port ${options.port} on 127.0.0.1 is taken; choose another with npm start -- --port N`
        : `gatehouse: ${message}`,
    );
    return 1;
  }
  const app = options.app ? startApp(isRoot) : { line: 'the menu-bar app: not opened (--no-app)' };
  // This checkout's own script, never `npx gatehousectl`: npm does not link a package's own bin,
  // so npx would look the name up in the registry and run whatever it found there, as root.
  // -s keeps npm's banner out of stdout, so that --json output can be piped.
  const ctl = 'npm run -s ctl --';
  const socketFlag =
    options.socketPath === DEFAULT_SOCKET_PATH ? '' : ` --socket ${options.socketPath}`;
  const lines = [
    `gatehouse: ${app.line}`,
    `  helpdesk console: ${stack.consoleUrl}  (user admin, password ${stack.adminPassword ?? 'as printed when this data folder was first used'})`,
  ];
  if (stack.socketPath) {
    lines.push(
      `  agent: ${options.monitor ? 'MONITOR (unknown programs are recorded, not blocked)' : 'LOCKDOWN (unknown programs are blocked)'}, control socket ${stack.socketPath}`,
      '  allowed so that this machine keeps working: what dpkg installed (unchanged), Node.js, npm, and the programs of this checkout, each by its SHA-256',
      '  try:',
      `    ${ctl} status${socketFlag}`,
      `    cp /usr/bin/true /tmp/gatehouse-try && /tmp/gatehouse-try    (a fresh, unknown binary)`,
      `    ${ctl} events${socketFlag}    then: ${ctl} request EVENT_ID "why you need it"${socketFlag}`,
    );
  } else {
    lines.push('  agent: not running (needs root)');
  }
  lines.push('  Ctrl-C stops everything.');
  console.log(lines.join('\n'));

  let stopping = false;
  const shutdown = async (why: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`gatehouse: ${why}, stopping`);
    app.child?.kill('SIGTERM');
    await stack.stop();
  };
  return new Promise<number>((done) => {
    const onSignal = (signal: string) => void shutdown(signal).then(() => done(0));
    process.once('SIGINT', () => onSignal('SIGINT'));
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    void stack.failed.then((why) => {
      if (stopping) return;
      console.error(`gatehouse: ${why}`);
      void shutdown('a part stopped').then(() => done(1));
    });
  });
}

process.exitCode = await main();
