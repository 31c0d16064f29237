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

/** What dpkg installed: each path's MD5 (for the native table) and the package that owns it. */
export interface DpkgTable extends PackageDigests {
  /** The owning package of paths[i], as dpkg names it ("coreutils", "libc6:amd64"). */
  readonly owners: readonly string[];
}

interface Md5sumsFile {
  readonly name: string;
  readonly text: string;
}

const EMPTY: DpkgTable = { paths: [], md5: new Uint8Array(), owners: [] };

function parse(files: readonly Md5sumsFile[]): DpkgTable {
  const byPath = new Map<string, { md5: string; owner: string }>();
  for (const { name, text } of files) {
    const owner = name.slice(0, -'.md5sums'.length);
    for (const line of text.split('\n')) {
      // "<32 hex>  <path relative to />"
      if (line.length < 35 || line[32] !== ' ' || line[33] !== ' ') continue;
      const md5 = line.slice(0, 32);
      if (!/^[0-9a-f]{32}$/.test(md5)) continue;
      const relative = line.slice(34);
      const entry = { md5, owner };
      byPath.set(`/${relative}`, entry);
      if (MERGED.some((prefix) => relative.startsWith(prefix)))
        byPath.set(`/usr/${relative}`, entry);
    }
  }
  const paths = [...byPath.keys()].filter((path) => !path.includes('\0'));
  const md5 = new Uint8Array(paths.length * 16);
  paths.forEach((path, i) => md5.set(Buffer.from(byPath.get(path)!.md5, 'hex'), i * 16));
  return { paths, md5, owners: paths.map((path) => byPath.get(path)!.owner) };
}

/** Synchronous, for start-up: the table must be in place before the monitor asks the kernel. */
export function loadDpkgDigests(infoDir = DPKG_INFO_DIR): DpkgTable {
  let names: string[];
  try {
    names = readdirSync(infoDir).filter((name) => name.endsWith('.md5sums'));
  } catch {
    return EMPTY; // not a dpkg system
  }
  return parse(names.map((name) => ({ name, text: readFileSync(join(infoDir, name), 'utf8') })));
}

/** Asynchronous, for refreshes while running. */
export async function loadDpkgDigestsAsync(infoDir = DPKG_INFO_DIR): Promise<DpkgTable> {
  let names: string[];
  try {
    names = (await readdir(infoDir)).filter((name) => name.endsWith('.md5sums'));
  } catch {
    return EMPTY; // not a dpkg system
  }
  return parse(
    await Promise.all(
      names.map(async (name) => ({ name, text: await readFile(join(infoDir, name), 'utf8') })),
    ),
  );
}

export interface PackagedFile {
  /** The MD5 the package installed, in hex. */
  readonly md5: string;
  readonly owner: string;
}

/** Path → what its package installed there, for explanations and events. */
export function packageIndex(table: DpkgTable): Map<string, PackagedFile> {
  const map = new Map<string, PackagedFile>();
  table.paths.forEach((path, i) =>
    map.set(path, {
      md5: Buffer.from(table.md5.subarray(i * 16, i * 16 + 16)).toString('hex'),
      owner: table.owners[i]!,
    }),
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
