// `npm start` as the README's quick start runs it, as root and not: what it prints, what it
// starts, and that Ctrl-C stops all of it and leaves the machine executing normally. As root its
// exec monitor is confined to a private tmpfs (--watch), so nothing else here is ever held.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlClient } from '../../../main/agent/control/client';
import { notRootsOnly } from '../../../scripts/local-stack';
import { copyExecutable, mountTmpfs, sha256sum, tempDir } from '../../helpers/files';
import { rootAvailable } from '../../helpers/prerequisites';
import { execute } from '../../helpers/real-stack';

const root = join(import.meta.dirname, '../../..');
const NOBODY = 65_534;

interface Started {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Runs scripts/start.ts (what `npm start` runs) until it has printed its summary. */
async function start(args: readonly string[], uid?: number): Promise<Started> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'scripts/start.ts'), ...args],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      // No desktop here either way; a missing binary must be said, not waited for.
      env: { ...process.env, ELECTRON_OVERRIDE_DIST_PATH: join(root, 'no-electron-here') },
      ...(uid === undefined ? {} : { uid, gid: uid }),
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (data: Buffer) => (stdout += data.toString()));
  child.stderr!.on('data', (data: Buffer) => (stderr += data.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  cleanups.push(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const deadline = Date.now() + 90_000;
  while (!stdout.includes('Ctrl-C stops everything.')) {
    if (child.exitCode !== null)
      throw new Error(`npm start exited (${child.exitCode}):\n${stdout}\n${stderr}`);
    if (Date.now() > deadline)
      throw new Error(`npm start printed no summary:\n${stdout}\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** npm start as root, its monitor confined to a private tmpfs, its state in a temporary folder. */
async function startAsRoot(prefix: string) {
  const enforced = mountTmpfs(prefix);
  cleanups.push(() => enforced.unmount());
  const data = tempDir(`${prefix}-data`);
  cleanups.push(() => data.remove());
  const socket = join(data.dir, 'gatehouse.sock');
  const running = await start([
    ...['--port', '0', '--data', data.dir],
    ...['--socket', socket, '--watch', enforced.dir],
  ]);
  return { enforced, socket, running };
}

async function logIn(consoleUrl: string, password: string): Promise<number> {
  const response = await fetch(`${consoleUrl}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password }),
  });
  return response.status;
}

function summary(stdout: string) {
  const console =
    /helpdesk console: (http:\/\/127\.0\.0\.1:\d+\/console)\s+\(user admin, password (\S+)\)/.exec(
      stdout,
    );
  if (!console) throw new Error(`no console line in:\n${stdout}`);
  return { consoleUrl: console[1]!, password: console[2]! };
}

describe('npm start', () => {
  it.runIf(rootAvailable('npm start as root'))(
    'as root: backend, enrolled agent in LOCKDOWN, console login; Ctrl-C stops it all',
    async () => {
      const { enforced, socket, running } = await startAsRoot('start-enforced');
      const out = running.stdout();
      const lines = out.trim().split('\n');
      expect(lines[0]).toMatch(/^gatehouse: the menu-bar app cannot open here: Electron's binary/);
      expect(out).toContain(
        `agent: LOCKDOWN (unknown programs are blocked), control socket ${socket}`,
      );
      for (const tryThis of [
        `npm run -s ctl -- status --socket ${socket}`,
        'cp /usr/bin/true /tmp/gatehouse-try && /tmp/gatehouse-try',
        `npm run -s ctl -- events --socket ${socket}`,
      ])
        expect(out).toContain(tryThis);
      const { consoleUrl, password } = summary(out);
      expect(await logIn(consoleUrl, password)).toBe(200);
      // The employee portal is served too (npm start builds it when it is missing).
      expect((await fetch(consoleUrl.replace(/\/console$/, '/portal/'))).status).toBe(200);

      const client = await ControlClient.connect(socket);
      type Status = {
        mode: string;
        monitorRunning: boolean;
        backend: string;
        lastSync: number | null;
      };
      expect(await client.call<Status>('status')).toMatchObject({
        mode: 'LOCKDOWN',
        monitorRunning: true,
        backend: 'fanotify',
      });
      // Enrolled with the backend it started: the first sync completes on its own.
      const deadline = Date.now() + 40_000;
      while ((await client.call<Status>('status')).lastSync === null) {
        if (Date.now() > deadline) throw new Error(`no sync in 40 s:\n${running.stderr()}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      client.close();
      // What the summary tells the user to run must itself be allowed when LOCKDOWN covers the
      // whole machine: npm, the shell it runs scripts with, the commands, Node.js, cp.
      const check = await ControlClient.connect(socket);
      for (const program of [
        realpathSync(execFileSync('which', ['npm'], { encoding: 'utf8' }).trim()),
        '/usr/bin/env',
        realpathSync('/bin/sh'),
        join(root, 'scripts/bin/gatehousectl.mjs'),
        realpathSync(join(root, 'node_modules/.bin/tsx')),
        process.execPath,
        '/usr/bin/cp',
      ]) {
        const verdict = await check.call<{ decision: string }>('fileinfo', {
          sha256: sha256sum(program),
          md5: execFileSync('md5sum', [program], { encoding: 'utf8' }).split(' ')[0],
          path: program,
        });
        expect(`${program}: ${verdict.decision}`).toMatch(/: ALLOW_/);
      }
      check.close();
      const fresh = copyExecutable('/bin/true', join(enforced.dir, 'fresh'), `start-${Date.now()}`);
      expect(await execute(fresh)).toEqual({ code: null, error: 'EPERM' });

      running.child.kill('SIGINT');
      expect(await running.exited).toBe(0);
      expect(running.stdout()).toContain('gatehouse: SIGINT, stopping');
      // Everything it started is gone, and the machine execs normally again.
      await expect(ControlClient.connect(socket)).rejects.toThrow(/not running/);
      await expect(fetch(consoleUrl)).rejects.toThrow();
      expect(await execute(fresh)).toEqual({ code: 0 });
    },
  );

  it.runIf(rootAvailable('npm start killed'))(
    'killed with SIGKILL, takes its backend and service with it',
    async () => {
      const { enforced, socket, running } = await startAsRoot('start-killed');
      const { consoleUrl } = summary(running.stdout());
      const fresh = copyExecutable(
        '/bin/true',
        join(enforced.dir, 'fresh'),
        `killed-${Date.now()}`,
      );
      expect(await execute(fresh)).toEqual({ code: null, error: 'EPERM' });
      running.child.kill('SIGKILL');
      await running.exited;
      const deadline = Date.now() + 20_000;
      for (;;) {
        const serviceGone = await ControlClient.connect(socket).then(
          (client) => (client.close(), false),
          () => true,
        );
        const serverGone = await fetch(consoleUrl).then(
          () => false,
          () => true,
        );
        if (serviceGone && serverGone) break;
        if (Date.now() > deadline)
          throw new Error(
            `still running after its starter was killed: service ${!serviceGone}, server ${!serverGone}`,
          );
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(await execute(fresh)).toEqual({ code: 0 });
    },
  );

  it.runIf(rootAvailable('npm start refusing a data folder'))(
    'as root, refuses a data folder another user could change, and starts nothing',
    async () => {
      const data = tempDir('start-foreign');
      cleanups.push(() => data.remove());
      chownSync(data.dir, NOBODY, NOBODY);
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', join(root, 'scripts/start.ts'), '--port', '0', '--data', data.dir],
        { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise((resolve) => child.once('exit', resolve));
      expect(code).toBe(1);
      expect(stderr).toContain(
        `root will not keep the agent's state in ${data.dir}: ${data.dir} belongs to uid ${NOBODY}`,
      );
      expect(existsSync(join(data.dir, 'gatehouse-server.db'))).toBe(false);
    },
  );

  it.runIf(rootAvailable('the checkout ownership check'))(
    "tells a folder only root can change from one with another user's file in it",
    () => {
      const dir = tempDir('roots-only');
      cleanups.push(() => dir.remove());
      mkdirSync(join(dir.dir, 'lib'));
      writeFileSync(join(dir.dir, 'lib', 'code.js'), '');
      expect(notRootsOnly(dir.dir)).toBeUndefined();
      chmodSync(join(dir.dir, 'lib', 'code.js'), 0o666);
      expect(notRootsOnly(dir.dir)).toBe(
        `${join(dir.dir, 'lib', 'code.js')} is writable by others (mode 666)`,
      );
      chmodSync(join(dir.dir, 'lib', 'code.js'), 0o644);
      chownSync(join(dir.dir, 'lib'), NOBODY, NOBODY);
      expect(notRootsOnly(dir.dir)).toBe(`${join(dir.dir, 'lib')} belongs to uid ${NOBODY}`);
      expect(notRootsOnly(dir.dir, [join(dir.dir, 'lib')])).toBeUndefined();
    },
  );

  it.runIf(rootAvailable('npm start as another user'))(
    'not root: says what needs root, runs the backend only, and stops on Ctrl-C',
    async () => {
      const data = tempDir('start-user');
      cleanups.push(() => data.remove());
      chmodSync(data.dir, 0o755);
      chownSync(data.dir, NOBODY, NOBODY);
      const running = await start(['--port', '0', '--data', data.dir], NOBODY);
      const out = running.stdout();
      expect(out).toContain(
        'not root, so no agent: blocking programs needs the exec monitor, which needs root (sudo npm start)',
      );
      expect(out).toContain('agent: not running (needs root)');
      expect(out).not.toContain('gatehousectl status');
      const { consoleUrl, password } = summary(out);
      expect(await logIn(consoleUrl, password)).toBe(200);
      running.child.kill('SIGINT');
      expect(await running.exited).toBe(0);
      await expect(fetch(consoleUrl)).rejects.toThrow();
    },
  );
});
