import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findElectronBinary } from '../../scripts/electron-binary';

const root = join(import.meta.dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');

function runScript(script: string, env: NodeJS.ProcessEnv) {
  return spawnSync(tsx, [join(root, 'scripts', script)], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
}

describe('npm start without the Electron binary', () => {
  const noElectron = { ELECTRON_OVERRIDE_DIST_PATH: mkdtempSync(join(tmpdir(), 'no-electron-')) };

  it('says so in one line, shows what runs without it, and exits 0', () => {
    const result = runScript('start.ts', noElectron);
    expect(result.status).toBe(0);
    const [first, ...rest] = result.stdout.trim().split('\n');
    expect(first).toMatch(
      /^gatehouse: the menu-bar app cannot open here: Electron's binary is not installed/,
    );
    expect(rest.join('\n')).toContain('gatehousectl 0.');
    expect(rest.join('\n')).toContain('npm run service');
    expect(result.stderr).not.toMatch(/\n\s+at /);
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
