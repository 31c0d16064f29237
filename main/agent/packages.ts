// Package trust on Debian: what dpkg says it installed where (its md5sums files). A file counts
// as package-managed only while its content still has that MD5; the native authorizer checks.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PackageDigests } from '../../native/index';

export const DPKG_INFO_DIR = '/var/lib/dpkg/info';
export const DPKG_STATUS = '/var/lib/dpkg/status';

// With merged /usr, dpkg may list bin/x while the kernel reports /usr/bin/x.
const MERGED = ['bin/', 'sbin/', 'lib/', 'lib32/', 'lib64/', 'libx32/'];

function parse(files: readonly string[]): PackageDigests {
  const byPath = new Map<string, string>();
  for (const text of files) {
    for (const line of text.split('\n')) {
      // "<32 hex>  <path relative to />"
      if (line.length < 35 || line[32] !== ' ' || line[33] !== ' ') continue;
      const md5 = line.slice(0, 32);
      if (!/^[0-9a-f]{32}$/.test(md5)) continue;
      const relative = line.slice(34);
      byPath.set(`/${relative}`, md5);
      if (MERGED.some((prefix) => relative.startsWith(prefix))) byPath.set(`/usr/${relative}`, md5);
    }
  }
  const paths = [...byPath.keys()].filter((path) => !path.includes('\0'));
  const md5 = new Uint8Array(paths.length * 16);
  paths.forEach((path, i) => md5.set(Buffer.from(byPath.get(path)!, 'hex'), i * 16));
  return { paths, md5 };
}

/** Synchronous, for start-up: the table must be in place before the monitor asks the kernel. */
export function loadDpkgDigests(infoDir = DPKG_INFO_DIR): PackageDigests {
  let names: string[];
  try {
    names = readdirSync(infoDir).filter((name) => name.endsWith('.md5sums'));
  } catch {
    return { paths: [], md5: new Uint8Array() };
  }
  return parse(names.map((name) => readFileSync(join(infoDir, name), 'utf8')));
}

/** Asynchronous, for refreshes while running. */
export async function loadDpkgDigestsAsync(infoDir = DPKG_INFO_DIR): Promise<PackageDigests> {
  const names = (await readdir(infoDir)).filter((name) => name.endsWith('.md5sums'));
  return parse(await Promise.all(names.map((name) => readFile(join(infoDir, name), 'utf8'))));
}

/** Path → MD5 hex, for explanations. */
export function digestMap(digests: PackageDigests): Map<string, string> {
  const map = new Map<string, string>();
  digests.paths.forEach((path, i) =>
    map.set(path, Buffer.from(digests.md5.subarray(i * 16, i * 16 + 16)).toString('hex')),
  );
  return map;
}

export function dpkgStatusStamp(statusFile = DPKG_STATUS): number {
  try {
    return statSync(statusFile).mtimeMs;
  } catch {
    return 0;
  }
}
