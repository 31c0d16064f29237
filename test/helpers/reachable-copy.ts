// Root's tests act as other users too: programs run as nobody (setpriv, spawn with a uid), and
// embedded PostgreSQL runs initdb and postgres as its postgres user. Those users must be able to
// reach the checkout's files, which they cannot when the checkout sits in a folder closed to
// them (root's 0700 home, a `mktemp -d` folder). Such a folder is the user's to keep closed, so
// the tests run from a copy instead: hard links where the filesystem allows (instant, no space),
// in a folder others may pass through but not list, so that only the processes the tests tell
// its random name can find it.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Left out of the copy: git's history, `npm start`'s default data folder (its secrets and live
 * databases), and the tests' own output, which is linked back so that it stays in the checkout.
 */
const LEFT_OUT = new Set(['.git', 'data']);
const LINKED_BACK = ['artifacts'];

/** The first folder from `path` up to / that other users cannot pass through, if any. */
export function closedToOthers(path: string): string | undefined {
  for (let dir = path; ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return dir;
    if (dir === dirname(dir)) return undefined;
  }
}

export interface ReachableCopy {
  /** The copy's root: every file of the checkout but those left out, at the same place in it. */
  readonly root: string;
  /** Whether its files are hard links to the checkout's (else they were copied). */
  readonly linked: boolean;
  remove(): void;
}

/**
 * Copies `checkout` where other users can reach it. `bases` are the folders to make it in, the
 * first on the checkout's own filesystem preferred (hard links cannot cross filesystems).
 */
export function makeReachableCopy(
  checkout: string,
  bases: readonly string[] = [tmpdir(), '/var/tmp'],
): ReachableCopy {
  const open = bases.filter((base) => existsSync(base) && !closedToOthers(base));
  if (open.length === 0)
    throw new Error(
      `no folder that other users can reach to copy the tests to: ${bases.join(', ')}`,
    );
  const device = statSync(checkout).dev;
  const base = open.find((candidate) => statSync(candidate).dev === device) ?? open[0]!;
  const parent = mkdtempSync(join(base, 'gatehouse-tests-'));
  chmodSync(parent, 0o711);
  const root = join(parent, randomBytes(16).toString('hex'));
  mkdirSync(root);
  chmodSync(root, 0o755);
  const remove = () => rmSync(parent, { recursive: true, force: true });
  try {
    const entries = readdirSync(checkout).filter(
      (name) => !LEFT_OUT.has(name) && !LINKED_BACK.includes(name),
    );
    const copy = (flags: string) =>
      entries.length === 0 ||
      spawnSync('cp', [flags, ...entries.map((name) => join(checkout, name)), root], {
        stdio: ['ignore', 'ignore', 'pipe'],
      }).status === 0;
    const linked = copy('-al');
    if (!linked) {
      for (const name of readdirSync(root)) rmSync(join(root, name), { recursive: true });
      if (!copy('-a')) throw new Error(`could not copy ${checkout} to ${root}`);
    }
    for (const name of LINKED_BACK) {
      mkdirSync(join(checkout, name), { recursive: true });
      symlinkSync(join(checkout, name), join(root, name));
    }
    return { root, linked, remove };
  } catch (error) {
    remove();
    throw error;
  }
}
