import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classify, fileInfo } from '../../../../main/cli/fileinfo';
import { describe, expect, it } from 'vitest';
import { runCtl } from '../../../../main/cli/gatehousectl';
import packageJson from '../../../../package.json' with { type: 'json' };
import { formatExecGate } from '../../../../main/cli/commands/status';

async function run(...argv: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await runCtl(
    argv,
    (line) => lines.push(line),
    (line) => lines.push(line),
  );
  return { code, out: lines.join('\n') };
}

describe('gatehousectl', () => {
  it('prints versions, from the native addon too, as JSON', async () => {
    const { code, out } = await run('version', '--json');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({
      gatehousectl: packageJson.version,
      native: packageJson.version,
      backend: process.platform === 'darwin' ? 'endpoint-security' : 'fanotify',
    });
  });

  it('answers an unknown command with usage and exit code 2', async () => {
    const { code, out } = await run('frobnicate');
    expect(code).toBe(2);
    expect(out).toContain('unknown command "frobnicate"');
    expect(out).toContain('usage: gatehousectl');
  });

  it.each([
    [['rule', '--allow'], 'rule needs exactly one of --sha256 HEX or --path FILE'],
    [['rule', '--sha256', 'ab'], 'rule needs exactly one of --allow, --block, --remove'],
    [['fileinfo'], 'fileinfo needs exactly one PATH'],
    [['events', '--limit'], '--limit needs a value'],
    [
      ['rule', '--block', '--compiler', '--sha256', 'a'.repeat(64)],
      '--compiler goes with --allow only',
    ],
    [['rules', '--limit', 'all'], 'limit must be an integer from 1 to 10000'],
  ])('%j is a usage error: %s', async (argv, message) => {
    const { code, out } = await run(...argv);
    expect(code).toBe(2);
    expect(out).toContain(message);
  });

  it.each([
    [['version', '--jsno'], 'unknown option --jsno for version'],
    [['status', '--json', '--limit', '5'], 'unknown option --limit for status'],
    [['rule', '--allow', '--sha256', 'a'.repeat(64), '--force'], 'unknown option --force for rule'],
    [['events', '-n', '5'], 'unknown option -n for events'],
    [['version', '--json=yes'], '--json takes no value'],
    [['status', 'now'], 'status takes no arguments, got "now"'],
  ])('%j is refused before anything runs, with exit code 2: %s', async (argv, message) => {
    const { code, out } = await run(...argv, '--socket', '/nonexistent/gatehouse.sock');
    expect(code).toBe(2);
    expect(out).toContain(`gatehousectl: ${message}`);
    expect(out).toContain('usage: gatehousectl');
  });

  it('checks parameters by the control contract before reaching for the service', async () => {
    const { code, out } = await run(
      'events',
      '--limit',
      'many',
      '--socket',
      '/nonexistent/gatehouse.sock',
    );
    expect(code).toBe(2);
    expect(out).toBe('gatehousectl: limit must be an integer from 1 to 1000');
  });

  it('takes the global options before the command too', async () => {
    const { code, out } = await run('--json', 'version');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ gatehousectl: packageJson.version });
  });

  it('says plainly when the service is not running, with exit code 3', async () => {
    const { code, out } = await run('status', '--socket', '/nonexistent/gatehouse.sock');
    expect(code).toBe(3);
    expect(out).toContain(
      'the Gatehouse service is not running (nothing listens on /nonexistent/gatehouse.sock)',
    );
  });
});

describe.runIf(existsSync('/var/lib/dpkg/info'))('fileinfo on a Debian machine', () => {
  it("names /bin/true's package and finds its content intact", async () => {
    const info = await fileInfo('/bin/true');
    expect(info).toMatchObject({ kind: 'ELF', package: 'coreutils', packageIntact: true });
    expect(info.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('answers an unchanged file from its cache, and reads a changed one again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fileinfo-'));
    try {
      const path = join(dir, 'tool');
      copyFileSync('/bin/true', path);
      const first = await fileInfo(path);
      expect(await fileInfo(path)).toBe(first); // the same answer, not computed again
      appendFileSync(path, 'changed'); // a new size and mtime
      const second = await fileInfo(path);
      expect(second).not.toBe(first);
      expect(second.sha256).not.toBe(first.sha256);
      expect(second.size).toBe(first.size + 'changed'.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tells a script by its interpreter', () => {
    expect(classify(Buffer.from('#!/usr/bin/env python3\nprint(1)\n'))).toEqual({
      kind: 'script',
      interpreter: '/usr/bin/env',
    });
  });
});

describe('the installed commands', () => {
  const bin = (name: string) =>
    new URL(`../../../../scripts/bin/${name}`, import.meta.url).pathname;

  it('gatehousectl runs from its bin entry and says when the service is down', () => {
    const result = spawnSync(
      bin('gatehousectl.mjs'),
      ['status', '--socket', '/nonexistent/gatehouse.sock'],
      {
        encoding: 'utf8',
      },
    );
    expect(result.status).toBe(3);
    expect(result.stderr).toContain('the Gatehouse service is not running');
  });

  it('gatehouse without --service says what it runs under Node', () => {
    const result = spawnSync(bin('gatehouse.mjs'), [], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('gatehouse --service');
  });
});

describe('gatehousectl status: the exec gate', () => {
  const gate = {
    gaps: '',
    deadline: 2,
    tooLarge: 1,
    busy: 0,
    openForWriting: 3,
    writtenWhileDeciding: 1,
    writeInvalidations: 5,
    guardedFiles: 7,
    routeBlocks: 4,
    routeReports: 0,
  };

  it('says every route is gated, and counts what the gate refused beyond the rules', () => {
    const lines = formatExecGate(gate).join('\n');
    expect(lines).toContain('every route (fanotify and the BPF LSM)');
    expect(lines).toContain('Not decided in time       | 2');
    expect(lines).toContain('4 refused, 5 allows forgotten on a write');
    expect(lines).toContain('Other routes              | 4 refused, 0 recorded');
  });

  it('names what is not gated, and why', () => {
    const lines = formatExecGate({ ...gate, gaps: 'the BPF LSM is not active' }).join('\n');
    expect(lines).toContain('execs on watched filesystems only: the BPF LSM is not active');
  });
});
