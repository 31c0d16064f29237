// The service as it runs: a process with a config file, signals, the control socket, and
// gatehousectl talking to it; with the real fanotify monitor where root allows.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ControlClient } from '../../../../main/agent/control/client';
import { startService } from '../../../../main/agent/service';
import { openDatabase } from '../../../../main/agent/store/database';
import { copyExecutable, run, sha256sum, tempDir } from '../../../helpers/files';
import { rootAvailable } from '../../../helpers/prerequisites';
import { until } from '../../../helpers/wait';
import { startLockdownService } from '../../../helpers/service-process';
import { useStarted } from '../../../helpers/scratch';

const root = join(import.meta.dirname, '../../../..');
const serviceScript = join(root, 'main/agent/service.ts');
const ctlScript = join(root, 'main/cli/gatehousectl.ts');

function collect(child: ChildProcess): { stderr(): string; exit: Promise<number | null> } {
  let stderr = '';
  child.stderr?.on('data', (data: Buffer) => (stderr += data.toString()));
  return {
    stderr: () => stderr,
    exit: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
  };
}

describe('gatehouse --service process', () => {
  const dir = tempDir('service');
  const configPath = join(dir.dir, 'config.json');
  const socketPath = join(dir.dir, 'gatehouse.sock');
  const good = (mode: string) =>
    JSON.stringify({
      ClientMode: mode,
      StateDir: join(dir.dir, 'state'),
      SocketPath: socketPath,
      MachineID: 'test',
    });
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });
  afterAll(() => dir.remove());

  function startProcess(env: NodeJS.ProcessEnv = {}) {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', serviceScript, '--backend', 'fake', '--config', configPath],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, ...env },
      },
    );
    children.push(child);
    return { child, ...collect(child) };
  }

  it('refuses to start on a bad config, saying what is wrong, with exit code 78', async () => {
    writeFileSync(configPath, JSON.stringify({ ClientMode: 'lockdwn', DeadlineMs: 'soon' }));
    const service = startProcess();
    expect(await service.exit).toBe(78);
    expect(service.stderr()).toContain(
      `config: ClientMode must be MONITOR or LOCKDOWN (or Santa's 1 or 2), got "lockdwn" (${configPath})`,
    );
    expect(service.stderr()).toContain(
      'config: DeadlineMs must be an integer from 100 to 600000, got "soon"',
    );
    expect(service.stderr()).toContain('not started');
    expect(service.stderr()).not.toMatch(/\n\s+at /);
  });

  it('starts on a store holding rows the native table refuses, skips and reports them, and decides with the rest', async () => {
    const state = join(dir.dir, 'bad-rows');
    const tool = copyExecutable('/bin/true', join(dir.dir, 'allowed-tool'), `bad-${Date.now()}`);
    const unknown = copyExecutable('/bin/true', join(dir.dir, 'unknown-tool'), `unk-${Date.now()}`);
    // As an older version or a damaged disk would leave it: rows written past the rule constructor.
    const db = openDatabase(state);
    const insert = db.prepare(
      "INSERT INTO rules (rule_type, identifier, policy, source, created_at) VALUES (?, ?, ?, 'local', 0)",
    );
    insert.run('CDHASH', 'zz', 'ALLOWLIST');
    insert.run('TEAMID', 'T'.repeat(600), 'ALLOWLIST');
    insert.run('BINARY', 'not-a-sha256', 'ALLOWLIST');
    insert.run('BINARY', sha256sum(tool), 'ALLOWLIST');
    insert.run('BINARY', 'e'.repeat(64), 'MAYBE');
    insert.run('PATH', '/usr/bin', 'ALLOWLIST');
    db.close();
    const badConfig = join(dir.dir, 'bad-rows.json');
    writeFileSync(
      badConfig,
      JSON.stringify({
        ClientMode: 'LOCKDOWN',
        StateDir: state,
        SocketPath: join(state, 's.sock'),
      }),
    );
    const log: string[] = [];
    const service = await startService(badConfig, 'fake', (line) => log.push(line));
    try {
      const who = { pid: 4300, ppid: 1, uid: 1000, gid: 1000 };
      expect(await service.agent.monitor.inject(tool, who)).toBe(true);
      expect(await service.agent.monitor.inject(unknown, who)).toBe(false);
      const status = service.agent.status();
      expect(status.rulesSkipped.count).toBe(5);
      expect(status.rulesSkipped.first).toEqual(
        expect.arrayContaining([
          'BINARY rule "not-a-sha256" refused: the identifier must be a SHA-256 (64 hex digits)',
          'CDHASH rule "zz" refused: the identifier must be 40 hex digits',
        ]),
      );
      expect(log.join('\n')).toMatch(
        /rules: 5 stored rules skipped: the exec monitor would refuse them .*CDHASH rule "zz" refused/,
      );
      // A bad row can still be removed, by the same type and identifier.
      const client = await ControlClient.connect(join(state, 's.sock'));
      try {
        expect(await client.call('rules.remove', { type: 'CDHASH', identifier: 'zz' })).toEqual({
          put: 0,
          removed: 1,
        });
      } finally {
        client.close();
      }
      expect(service.agent.status().rulesSkipped.count).toBe(4);
    } finally {
      await service.stop();
    }
  });

  /** A stand-in for systemd's notify socket: prints each datagram it receives on a line. */
  async function notifySocket(): Promise<{ path: string; messages(): string[] }> {
    const path = join(dir.dir, 'notify.sock');
    const listener = spawn('python3', [
      '-c',
      'import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint("bound",flush=True)\nwhile True: print(s.recv(4096).decode().replace("\\n","|"),flush=True)',
      path,
    ]);
    children.push(listener);
    let out = '';
    listener.stdout.on('data', (data: Buffer) => (out += data.toString()));
    await until(() => out.includes('bound'), 'the notify socket');
    return { path, messages: () => out.split('\n').slice(1).filter(Boolean) };
  }

  it('reloads on SIGHUP, keeps the last good config when the new one is bad, stops on SIGTERM, and tells systemd', async () => {
    writeFileSync(configPath, good('MONITOR'));
    const systemd = await notifySocket();
    const service = startProcess({ NOTIFY_SOCKET: systemd.path, WATCHDOG_USEC: '1000000' });
    await until(() => service.stderr().includes('gatehouse service'), 'the service to start');
    writeFileSync(configPath, '{ "ClientMode": ');
    service.child.kill('SIGHUP');
    await until(
      () => service.stderr().includes('kept the last good configuration'),
      'the bad reload',
    );
    const client = await ControlClient.connect(socketPath);
    try {
      expect((await client.call<{ mode: string }>('status')).mode).toBe('MONITOR');
      writeFileSync(configPath, good('LOCKDOWN'));
      service.child.kill('SIGHUP');
      await until(
        () => service.stderr().includes('configuration reloaded (LOCKDOWN)'),
        'the good reload',
      );
      expect((await client.call<{ mode: string }>('status')).mode).toBe('LOCKDOWN');
    } finally {
      client.close();
    }
    await until(() => systemd.messages().includes('WATCHDOG=1'), 'a watchdog ping');
    service.child.kill('SIGTERM');
    expect(await service.exit).toBe(0);
    await until(() => systemd.messages().includes('STOPPING=1'), 'STOPPING=1');
    expect(systemd.messages()).toEqual(
      expect.arrayContaining(['READY=1|STATUS=MONITOR', 'RELOADING=1', 'READY=1']),
    );
  });
});

describe.runIf(rootAvailable('the gatehousectl integration test'))(
  'gatehousectl against the service with the real monitor (root)',
  () => {
    const lockdown = useStarted(() =>
      startLockdownService(
        'ctl',
        () => ({ MachineID: 'ctl-test' }),
        (configPath) => startService(configPath, 'fanotify', () => {}),
      ),
    );

    /** gatehousectl as its own process (asynchronously: the service answers on this thread). */
    function ctl(
      ...args: string[]
    ): Promise<{ code: number | null; stdout: string; stderr: string }> {
      const child = spawn(process.execPath, ['--import', 'tsx', ctlScript, ...args], {
        env: { ...process.env, GATEHOUSE_SOCKET: lockdown.socketPath },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
      child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
      return new Promise((resolve) =>
        child.on('exit', (code) => resolve({ code, stdout, stderr })),
      );
    }

    it('status, fileinfo, events and rule --allow: a blocked binary runs once allowed', async () => {
      const binary = copyExecutable(
        '/bin/true',
        join(lockdown.watchDir, 'fresh-tool'),
        `ctl-${Date.now()}`,
      );
      // spawn, not spawnSync: the exec waits on this process's monitor thread, not its JS thread,
      // but the service's event recording does run here.
      expect(run(binary).error).toBe('EPERM');

      const status = await ctl('status', '--json');
      expect(status.code).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({
        mode: 'LOCKDOWN',
        monitorRunning: true,
        backend: 'fanotify',
        watched: [expect.objectContaining({ path: lockdown.watchDir, mark: 'filesystem' })],
      });
      const human = (await ctl('status')).stdout;
      expect(human).toContain('Mode                      | LOCKDOWN');
      // Each filesystem with its device: two mounted at one place are still told apart.
      const [watched] = JSON.parse(status.stdout).watched as { device: string }[];
      expect(human).toContain(`${lockdown.watchDir} (tmpfs ${watched!.device}, filesystem)`);

      const check = await ctl('fileinfo', binary, '--check', '--json');
      expect(check.code).toBe(0);
      expect(JSON.parse(check.stdout)).toMatchObject({
        sha256: sha256sum(binary),
        kind: 'ELF',
        architecture: process.arch === 'x64' ? 'x86_64' : expect.any(String),
        decision: 'BLOCK_UNKNOWN',
        reason: 'No matching rule',
      });

      const events = await ctl('events', '--json');
      expect(JSON.parse(events.stdout)).toContainEqual(
        expect.objectContaining({
          fileName: 'fresh-tool',
          decision: 'BLOCK_UNKNOWN',
          fileSha256: sha256sum(binary),
        }),
      );

      const added = await ctl(
        'rule',
        '--allow',
        '--path',
        binary,
        '--message',
        'approved for the release',
      );
      expect(added.code).toBe(0);
      expect(run(binary)).toEqual({ status: 0 });
      const after = JSON.parse((await ctl('fileinfo', binary, '--check', '--json')).stdout);
      expect(after).toMatchObject({
        decision: 'ALLOW_BINARY',
        reason: 'Binary rule',
        customMsg: 'approved for the release',
      });
      expect(JSON.parse((await ctl('status', '--json')).stdout).ruleCounts.BINARY).toBe(1);

      expect((await ctl('rule', '--remove', '--sha256', sha256sum(binary))).code).toBe(0);
      expect(run(binary).error).toBe('EPERM');
    });

    it('refuses rule changes from an unprivileged user with exit code 4', async () => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', ctlScript, 'rule', '--block', '--sha256', 'a'.repeat(64)],
        {
          env: { ...process.env, GATEHOUSE_SOCKET: lockdown.socketPath, HOME: '/tmp' },
          uid: 65534,
          gid: 65534,
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      const { stderr, exit } = collect(child);
      expect(await exit).toBe(4);
      expect(stderr()).toContain('permission denied: rules.add needs root');
    });
  },
);
