import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findElectronBinary } from '../../../scripts/electron-binary';

const root = join(import.meta.dirname, '../../..');
const tsx = join(root, 'node_modules/.bin/tsx');

function runScript(script: string, env: NodeJS.ProcessEnv) {
  return spawnSync(tsx, [join(root, 'scripts', script)], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
}

describe('npm start and npm run dist without the Electron binary', () => {
  const noElectron = { ELECTRON_OVERRIDE_DIST_PATH: mkdtempSync(join(tmpdir(), 'no-electron-')) };

  it('npm start says what is wrong with its arguments, and starts nothing', () => {
    const result = spawnSync(tsx, [join(root, 'scripts/start.ts'), '--port', 'eighty'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(
      'gatehouse: --port must be a port number (0 to 65535), got "eighty"',
    );
    expect(result.stderr).toContain('usage: npm start');
    expect(result.stdout).toBe('');
  });

  it('npm start --help prints the options and starts nothing', () => {
    const result = spawnSync(tsx, [join(root, 'scripts/start.ts'), '--help'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).toBe(0);
    for (const option of ['--monitor', '--port N', '--data DIR', '--socket PATH', '--watch PATH'])
      expect(result.stdout).toContain(option);
  });

  it('makes npm run dist fail with one sentence', () => {
    const result = runScript('dist.ts', noElectron);
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('cannot package Gatehouse');
  });
});

describe('findElectronBinary', () => {
  it('finds the binary named by path.txt under the dist folder', () => {
    const pkg = mkdtempSync(join(tmpdir(), 'electron-pkg-'));
    writeFileSync(join(pkg, 'path.txt'), 'electron');
    mkdirSync(join(pkg, 'dist'));
    expect(findElectronBinary(pkg, {}).found).toBe(false);
    writeFileSync(join(pkg, 'dist', 'electron'), '');
    expect(findElectronBinary(pkg, {})).toEqual({
      found: true,
      path: join(pkg, 'dist', 'electron'),
    });
  });
});
