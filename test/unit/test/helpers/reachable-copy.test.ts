import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { closedToOthers, makeReachableCopy } from '../../../helpers/reachable-copy';

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A checkout in a folder closed to other users, as `mktemp -d` makes it. */
function closedCheckout(): { closed: string; checkout: string } {
  const closed = mkdtempSync(join(tmpdir(), 'gatehouse-closed-'));
  made.push(closed);
  chmodSync(closed, 0o700);
  const checkout = join(closed, 'g');
  mkdirSync(join(checkout, 'node_modules/pkg'), { recursive: true });
  writeFileSync(join(checkout, 'package.json'), '{"name":"x"}\n');
  writeFileSync(join(checkout, 'node_modules/pkg/index.js'), 'export {};\n');
  mkdirSync(join(checkout, '.git'));
  writeFileSync(join(checkout, '.git/HEAD'), 'ref: refs/heads/main\n');
  mkdirSync(join(checkout, 'data/local'), { recursive: true });
  writeFileSync(join(checkout, 'data/local/admin-password'), 'secret\n');
  return { closed, checkout };
}

describe('running the tests where other users can reach them', () => {
  it('names the folder that closes a checkout to other users', () => {
    const { closed, checkout } = closedCheckout();
    expect(closedToOthers(checkout)).toBe(closed);
    chmodSync(closed, 0o755);
    expect(closedToOthers(checkout)).toBe(closedToOthers(dirname(closed)));
  });

  it('copies the checkout, but for git and npm start data, into a folder others can pass but not list', () => {
    const { checkout } = closedCheckout();
    const copy = makeReachableCopy(checkout);
    made.push(dirname(copy.root));
    expect(closedToOthers(copy.root)).toBeUndefined();
    expect(statSync(dirname(copy.root)).mode & 0o777).toBe(0o711);
    expect(statSync(copy.root).mode & 0o777).toBe(0o755);
    expect(readFileSync(join(copy.root, 'node_modules/pkg/index.js'), 'utf8')).toBe('export {};\n');
    expect(existsSync(join(copy.root, '.git'))).toBe(false);
    expect(existsSync(join(copy.root, 'data'))).toBe(false);
    // Hard links on one filesystem: the same files, nothing copied.
    expect(copy.linked).toBe(true);
    expect(statSync(join(copy.root, 'package.json')).ino).toBe(
      statSync(join(checkout, 'package.json')).ino,
    );
    // What the tests write (screenshots) lands in the checkout.
    expect(lstatSync(join(copy.root, 'artifacts')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(copy.root, 'artifacts'))).toBe(join(checkout, 'artifacts'));

    copy.remove();
    expect(existsSync(dirname(copy.root))).toBe(false);
    expect(readFileSync(join(checkout, 'package.json'), 'utf8')).toBe('{"name":"x"}\n');
    expect(existsSync(join(checkout, 'artifacts'))).toBe(true);
  });
});
