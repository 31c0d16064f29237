// Running posture checks: each with its own deadline, real child processes, nothing blocking the
// others; and when the service runs them (schedule, on demand, configuration).
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../../../main/agent/config/config';
import {
  fail,
  pass,
  runChecks,
  unknown,
  type PostureCheck,
} from '../../../../../main/agent/posture/check';
import { runCommand, systemHost } from '../../../../../main/agent/posture/host';
import { PostureMonitor } from '../../../../../main/agent/posture/monitor';
import { formatPosture } from '../../../../../main/cli/gatehousectl';
import { contextFor } from '../../../../helpers/posture';
import { until } from '../../../../helpers/wait';

/** Processes running `sleep SECONDS`. */
function sleepers(seconds: string): string[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8') === `sleep\0${seconds}\0`;
      } catch {
        return false;
      }
    });
}

const commandCheck = (id: string, script: string): PostureCheck => ({
  id,
  title: id,
  remediation: `fix ${id}`,
  async run({ host }) {
    const result = await host.run('sh', ['-c', script]);
    return result.code === 0 ? pass(result.stdout.trim()) : fail(`exit ${result.code}`);
  },
});

describe('running checks', () => {
  it('reports a hung check unknown after its timeout, kills its command, and the others still report', async () => {
    // A sleep long and odd enough to be told apart from any other process on the machine.
    const seconds = String(100_000 + Math.floor(Math.random() * 800_000));
    const checks = [
      commandCheck('fast.pass', 'echo all good'),
      { ...commandCheck('hung', `exec sleep ${seconds}`), timeoutMs: 500 },
      commandCheck('fast.fail', 'exit 3'),
    ];
    const results = await runChecks(checks, contextFor(systemHost()), 60_000);
    expect(results.map((r) => [r.id, r.status])).toEqual([
      ['fast.pass', 'pass'],
      ['hung', 'unknown'],
      ['fast.fail', 'fail'],
    ]);
    expect(results[0]!.evidence).toBe('all good');
    expect(results[1]!.evidence).toBe(
      `the check did not finish within 500 ms (it was waiting for \`sh -c exec sleep ${seconds}\`)`,
    );
    expect(results[1]!.remediation).toBe('fix hung');
    await until(
      () => sleepers(seconds).length === 0,
      `the hung command (sleep ${seconds}) to be killed`,
    );
  });

  it('reports a check that throws as unknown, saying why', async () => {
    const broken: PostureCheck = {
      id: 'broken',
      title: 'Broken',
      remediation: 'r',
      run: () => Promise.reject(new Error('cannot parse the answer')),
    };
    const [result] = await runChecks([broken], contextFor(systemHost()));
    expect(result).toMatchObject({
      status: 'unknown',
      evidence: 'the check failed: cannot parse the answer',
    });
  });

  it('stamps each result with the time of the run and keeps the remediation line', async () => {
    const check: PostureCheck = {
      id: 'x',
      title: 'X',
      remediation: 'do x',
      run: async () => unknown('cannot tell'),
    };
    const [result] = await runChecks([check], contextFor(systemHost(), { now: () => 1234 }));
    expect(result).toEqual({
      id: 'x',
      title: 'X',
      status: 'unknown',
      evidence: 'cannot tell',
      remediation: 'do x',
      checkedAt: 1234,
    });
  });
});

describe('runCommand', () => {
  it('says when a command is not installed', async () => {
    expect(await runCommand('gatehouse-no-such-command', [])).toMatchObject({
      code: null,
      failure: 'not-found',
      message: 'gatehouse-no-such-command is not installed',
    });
  });

  it('returns the exit code and both outputs, in the C locale', async () => {
    expect(await runCommand('sh', ['-c', 'echo "$LC_ALL"; echo oops >&2; exit 4'])).toEqual({
      code: 4,
      stdout: 'C\n',
      stderr: 'oops\n',
    });
  });

  it('kills a command at its own timeout, and what it started with it', async () => {
    const seconds = String(200_000 + Math.floor(Math.random() * 99_999));
    // The shell starts a sleep of its own and then waits on another: both must go.
    const result = await runCommand('sh', ['-c', `sleep ${seconds} & sleep ${seconds}; wait`], {
      timeoutMs: 300,
    });
    expect(result).toMatchObject({ code: null, failure: 'timeout' });
    await until(() => sleepers(seconds).length === 0, `both sleep ${seconds} to be killed`);
  });

  it('says a command that is not installed is not installed', async () => {
    expect(await runCommand('gatehouse-no-such-command', [])).toMatchObject({
      code: null,
      failure: 'not-found',
      message: 'gatehouse-no-such-command is not installed',
    });
  });
});

describe('PostureMonitor', () => {
  it('runs at start, joins a run in progress, and hands every run to the agent', async () => {
    let runs = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const check: PostureCheck = {
      id: 'counted',
      title: 'Counted',
      remediation: 'r',
      async run() {
        runs++;
        await gate;
        return pass(`run ${runs}`);
      },
    };
    const delivered: string[][] = [];
    const monitor = new PostureMonitor({
      checks: [check],
      context: contextFor(systemHost()),
      intervalMs: 3_600_000,
      timeoutMs: 60_000,
      onResults: (results) => delivered.push(results.map((r) => r.evidence)),
    });
    monitor.start();
    const joined = monitor.runNow(); // while the start-up run is still going
    release();
    const results = await joined;
    expect(runs).toBe(1);
    expect(results.map((r) => r.evidence)).toEqual(['run 1']);
    expect(delivered).toEqual([['run 1']]);
    await monitor.runNow();
    expect(delivered).toEqual([['run 1'], ['run 2']]);
    monitor.stop();
  });
});

describe('posture configuration', () => {
  const parse = (settings: Record<string, unknown>) =>
    parseConfig(JSON.stringify(settings), '/etc/gatehouse/config.json', () => 'm');

  it('has defaults', () => {
    expect(parse({}).config).toMatchObject({
      postureIntervalS: 900,
      postureTimeoutS: 30,
      postureMinimumMacOSVersion: '14.0',
      postureMinimumXProtectVersion: 2162,
    });
  });

  it('takes valid values', () => {
    expect(
      parse({
        PostureIntervalSeconds: 300,
        PostureCheckTimeoutSeconds: 10,
        PostureMinimumMacOSVersion: '15.3.1',
        PostureMinimumXProtectVersion: 5000,
      }).config,
    ).toMatchObject({
      postureIntervalS: 300,
      postureTimeoutS: 10,
      postureMinimumMacOSVersion: '15.3.1',
      postureMinimumXProtectVersion: 5000,
    });
  });

  it('reports every bad value with its key, the value and what is allowed', () => {
    expect(() =>
      parse({
        PostureIntervalSeconds: 5,
        PostureCheckTimeoutSeconds: 'soon',
        PostureMinimumMacOSVersion: 'Sonoma',
      }),
    ).toThrow(
      [
        'config: PostureIntervalSeconds must be an integer from 60 to 86400, got 5 (/etc/gatehouse/config.json)',
        'config: PostureCheckTimeoutSeconds must be an integer from 1 to 300, got "soon" (/etc/gatehouse/config.json)',
        'config: PostureMinimumMacOSVersion must be a macOS version such as "14.0" or "15.3.1", got "Sonoma" (/etc/gatehouse/config.json)',
      ].join('\n'),
    );
  });
});

describe('gatehousectl posture lines', () => {
  it('shows passing checks on one line and the others with evidence and remediation', () => {
    const lines = formatPosture([
      {
        id: 'a',
        title: 'Firewall',
        status: 'pass',
        evidence: 'ufw active',
        remediation: 'turn it on',
        checkedAt: 1,
      },
      {
        id: 'b',
        title: 'Disk encryption',
        status: 'fail',
        evidence: '/ is ext4 on /dev/vda',
        remediation: 'encrypt the disk',
        checkedAt: 1,
      },
    ]);
    expect(lines).toEqual([
      '  Firewall                  | pass ufw active',
      '  Disk encryption           | FAIL',
      '                            |      / is ext4 on /dev/vda',
      '                            |      → encrypt the disk',
    ]);
    expect(formatPosture([])).toEqual(['  not checked yet']);
  });
});
