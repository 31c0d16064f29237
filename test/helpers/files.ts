import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `gatehouse-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A fresh tmpfs of our own (root only): fanotify marks on it touch no other process's execs. */
export function mountTmpfs(prefix: string, size = '256m'): { dir: string; unmount(): void } {
  const dir = mkdtempSync(join(tmpdir(), `gatehouse-${prefix}-`));
  execFileSync('mount', [
    '-t',
    'tmpfs',
    '-o',
    `size=${size},mode=0755`,
    `gatehouse-${prefix}`,
    dir,
  ]);
  return {
    dir,
    unmount() {
      spawnSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Copies an executable; `tag` bytes appended make its SHA-256 unique without breaking it. */
export function copyExecutable(from: string, to: string, tag?: string): string {
  copyFileSync(from, to);
  if (tag !== undefined) execFileSync('sh', ['-c', 'printf %s "$1" >> "$2"', 'sh', tag, to]);
  execFileSync('chmod', ['755', to]);
  return to;
}

/** An executable of `bytes` bytes whose tail is a hole: slow to hash, instant to create. */
export function sparseExecutable(from: string, to: string, bytes: number): string {
  copyExecutable(from, to);
  truncateSync(to, bytes);
  return to;
}

export function sha256sum(path: string): string {
  return execFileSync('sha256sum', [path], { encoding: 'utf8' }).split(' ')[0]!;
}

/** Runs a program; `EPERM` when the exec itself was refused. */
export function run(
  path: string,
  args: readonly string[] = [],
): { status: number | null; error?: string } {
  const result = spawnSync(path, args, { stdio: 'ignore', timeout: 30_000 });
  return result.error
    ? { status: result.status, error: (result.error as NodeJS.ErrnoException).code ?? 'unknown' }
    : { status: result.status };
}
