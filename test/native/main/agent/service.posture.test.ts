// Posture checks in the running service: run at start, on demand over the control socket (any
// user, rate-limited for all but root), pushed to subscribers as a status when they change, and
// printed by gatehousectl.
import { spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostureResult } from '../../../../common/posture';
import type { AgentMessage, AgentStatus } from '../../../../main/agent/agent';
import { ControlClient } from '../../../../main/agent/control/client';
import { LINUX_CHECKS } from '../../../../main/agent/posture/linux';
import { startService, type RunningService } from '../../../../main/agent/service';
import { tempDir } from '../../../helpers/files';
import { rootAvailable } from '../../../helpers/prerequisites';
import { until } from '../../../helpers/wait';

const root = join(import.meta.dirname, '../../../..');
const ctlScript = join(root, 'main/cli/gatehousectl.ts');
const rpcClient = join(import.meta.dirname, '../../fixtures/rpc-client.mjs');
const NOBODY = 65534;

describe.runIf(process.platform === 'linux')('posture checks in the service', () => {
  const dir = tempDir('posture-service');
  const socketPath = join(dir.dir, 'gatehouse.sock');
  let service: RunningService;

  beforeAll(async () => {
    chmodSync(dir.dir, 0o755); // every user may reach the socket, as under /run/gatehouse
    const configPath = join(dir.dir, 'config.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        ClientMode: 'MONITOR',
        StateDir: join(dir.dir, 'state'),
        SocketPath: socketPath,
        MachineID: 'posture-test',
        PostureIntervalSeconds: 3600,
      }),
    );
    service = await startService(configPath, 'fake', () => {});
    await until(() => service.agent.posture.length > 0, 'the start-up posture run', 50_000);
  }, 60_000);
  afterAll(async () => {
    await service?.stop();
    dir.remove();
  });

  it('runs every Linux check at start; the status carries the results', async () => {
    const client = await ControlClient.connect(socketPath);
    try {
      const status = await client.call<AgentStatus>('status');
      expect(status.posture.map((result) => result.id)).toEqual(
        LINUX_CHECKS.map((check) => check.id),
      );
      for (const result of status.posture) {
        expect(['pass', 'fail', 'unknown']).toContain(result.status);
        expect(result.evidence.length).toBeGreaterThan(0);
        expect(result.remediation.length).toBeGreaterThan(0);
      }
      // This service enforces nothing (the fake exec source), and says so.
      expect(status.posture.find((result) => result.id === 'gatehouse.healthy')).toMatchObject({
        status: 'fail',
        evidence: 'mode MONITOR; the exec monitor runs the fake backend: nothing is enforced',
      });
    } finally {
      client.close();
    }
  });

  it('runs them on demand for root and answers with fresh results', async () => {
    const client = await ControlClient.connect(socketPath);
    try {
      const before = service.agent.posture[0]!.checkedAt;
      const results = await client.call<PostureResult[]>('posture.run');
      expect(results.map((result) => result.id)).toEqual(LINUX_CHECKS.map((check) => check.id));
      expect(results[0]!.checkedAt).toBeGreaterThanOrEqual(before);
      expect(service.agent.posture).toEqual(results);
      // root is not rate-limited
      expect(await client.call<PostureResult[]>('posture.run')).toHaveLength(results.length);
    } finally {
      client.close();
    }
  });

  it('tells subscribers with a status message when the results change, and only then', async () => {
    const client = await ControlClient.connect(socketPath);
    const statuses: AgentStatus[] = [];
    client.onNotification((method, params) => {
      if (method === 'status') statuses.push(params as AgentStatus);
    });
    const messages: AgentMessage[] = [];
    const unsubscribe = service.agent.onMessage((message) => messages.push(message));
    try {
      await client.call('subscribe');
      const current = [...service.agent.posture];
      service.agent.setPosture(current.map((r) => ({ ...r, checkedAt: r.checkedAt + 1 })));
      expect(messages).toEqual([]); // checked again, same answers: nothing to tell
      const flipped =
        current.find((r) => r.id === 'linux.firewall')!.status === 'pass' ? 'fail' : 'pass';
      service.agent.setPosture(
        current.map((r) => (r.id === 'linux.firewall' ? { ...r, status: flipped } : r)),
      );
      expect(messages).toEqual([{ kind: 'status' }]);
      await until(() => statuses.length > 0, 'the pushed status');
      expect(statuses[0]!.posture.find((r) => r.id === 'linux.firewall')).toMatchObject({
        status: flipped,
      });
    } finally {
      unsubscribe();
      await service.posture.runNow();
      client.close();
    }
  });

  it('gatehousectl status and posture print the list', async () => {
    const ctl = (...args: string[]) =>
      new Promise<{ code: number | null; stdout: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', ctlScript, ...args], {
          env: { ...process.env, GATEHOUSE_SOCKET: socketPath },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let stdout = '';
        child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
        child.on('exit', (code) => resolve({ code, stdout }));
      });
    const status = await ctl('status');
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('>>> Posture');
    for (const result of service.agent.posture)
      expect(status.stdout).toContain(`  ${result.title.padEnd(26)}| `);
    expect(status.stdout).toContain('FAIL'); // the fake monitor at least
    const posture = await ctl('posture', '--run', '--json');
    expect(posture.code).toBe(0);
    expect((JSON.parse(posture.stdout) as PostureResult[]).map((r) => r.id)).toEqual(
      LINUX_CHECKS.map((check) => check.id),
    );
  });

  it.runIf(rootAvailable('asking for posture checks as another user'))(
    'lets any user ask for a run, once per 30 s',
    async () => {
      const child = spawn(process.execPath, [rpcClient, socketPath, '2'], {
        uid: NOBODY,
        gid: NOBODY,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      child.stdin.end(
        JSON.stringify([
          JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'posture.run' }),
          JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'posture.run' }),
        ]),
      );
      let stdout = '';
      child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
      await new Promise((resolve) => child.on('exit', resolve));
      const replies = stdout
        .trim()
        .split('\n')
        .map(
          (line) =>
            JSON.parse(line) as {
              id: number;
              result?: PostureResult[];
              error?: { code: number; message: string };
            },
        )
        .sort((a, b) => a.id - b.id);
      expect(replies[0]!.result?.map((r) => r.id)).toEqual(LINUX_CHECKS.map((c) => c.id));
      expect(replies[1]!.error?.code).toBe(-32002);
      expect(replies[1]!.error?.message).toMatch(
        /^posture checks were asked for \d+ s ago; wait 30 s between runs$/,
      );
    },
  );
});
