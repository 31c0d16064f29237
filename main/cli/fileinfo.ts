// What gatehousectl fileinfo reports about a file, computed by the caller (who must be able to
// read it): SHA-256, size, kind, ELF architecture, and on Debian the owning package and whether
// the file still matches what the package installed.
import { execFile } from 'node:child_process';
import { open, readFile, realpath, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { nativeAddon } from '../../native/index';

const run = promisify(execFile);

export interface FileInfo {
  readonly path: string;
  readonly sha256: string;
  readonly md5: string;
  readonly size: number;
  readonly kind: 'ELF' | 'Mach-O' | 'script' | 'other';
  readonly interpreter?: string;
  readonly architecture?: string;
  readonly package?: string;
  readonly packageIntact?: boolean;
}

const ELF_MACHINES: Record<number, string> = {
  3: 'x86',
  40: 'arm',
  62: 'x86_64',
  183: 'aarch64',
  243: 'riscv',
  8: 'mips',
  21: 'ppc64',
};

export function classify(head: Buffer): Pick<FileInfo, 'kind' | 'interpreter' | 'architecture'> {
  if (head.length >= 20 && head.readUInt32BE(0) === 0x7f454c46) {
    const littleEndian = head[5] === 1;
    const machine = littleEndian ? head.readUInt16LE(18) : head.readUInt16BE(18);
    return { kind: 'ELF', architecture: ELF_MACHINES[machine] ?? `machine ${machine}` };
  }
  if (head.length >= 4) {
    const magic = head.readUInt32BE(0);
    if ([0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe].includes(magic))
      return { kind: 'Mach-O' };
  }
  if (head[0] === 0x23 && head[1] === 0x21) {
    const line = head.subarray(2).toString('utf8').split('\n')[0]!.trim();
    return { kind: 'script', interpreter: line.split(/\s+/)[0] ?? '' };
  }
  return { kind: 'other' };
}

async function dpkgOwner(path: string): Promise<string | undefined> {
  // With merged /usr, dpkg may know /usr/bin/x as /bin/x.
  const candidates = [path, ...(/^\/usr\/(s?bin|lib\w*)\//.test(path) ? [path.slice(4)] : [])];
  for (const candidate of candidates) {
    try {
      const { stdout: out } = await run('dpkg-query', ['-S', candidate], { encoding: 'utf8' });
      const owner = out.split(':')[0]?.split(',')[0]?.trim();
      if (owner) return owner;
    } catch {
      // not this name
    }
  }
  return undefined;
}

async function dpkgIntact(pkg: string, path: string, md5: string): Promise<boolean | undefined> {
  const relative = path.replace(/^\//, '');
  for (const name of [pkg, `${pkg}:amd64`, `${pkg}:arm64`, `${pkg}:all`]) {
    let sums: string;
    try {
      sums = await readFile(`/var/lib/dpkg/info/${name}.md5sums`, 'utf8');
    } catch {
      continue;
    }
    const line = sums
      .split('\n')
      .find(
        (entry) =>
          entry.slice(34) === relative || entry.slice(34) === relative.replace(/^usr\//, ''),
      );
    if (!line) return undefined;
    return md5 === line.slice(0, 32);
  }
  return undefined;
}

/** Recent answers by (dev, inode, mtime, size): a file that has not changed is not read again. */
const cache = new Map<string, FileInfo>();
const CACHE_SIZE = 256;

/** Never blocks the event loop: every read and the dpkg lookup are asynchronous. */
export async function fileInfo(target: string): Promise<FileInfo> {
  const path = await realpath(target);
  const stats = await stat(path);
  if (!stats.isFile()) throw new Error(`${target} is not a regular file`);
  const key = `${stats.dev}:${stats.ino}:${stats.mtimeMs}:${stats.size}:${path}`;
  const known = cache.get(key);
  if (known) return known;
  const info = await describe(path, stats.size);
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(key, info);
  return info;
}

async function describe(path: string, size: number): Promise<FileInfo> {
  const file = await open(path, 'r');
  const head = Buffer.alloc(256);
  let read: number;
  try {
    ({ bytesRead: read } = await file.read(head, 0, head.length, 0));
  } finally {
    await file.close();
  }
  const { sha256, md5 } = await nativeAddon().sha256File(path);
  const info: FileInfo = {
    path,
    sha256,
    md5,
    size,
    ...classify(head.subarray(0, read)),
  };
  const pkg = await dpkgOwner(path);
  if (!pkg) return info;
  const intact = await dpkgIntact(pkg, path, md5);
  return { ...info, package: pkg, ...(intact === undefined ? {} : { packageIntact: intact }) };
}
