import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TransitiveRule } from '../../../../../common/rules';
import {
  TRANSITIVE_FILE,
  TransitiveStore,
  transitiveRuleProblem,
} from '../../../../../main/agent/store/transitive';
import { tempDir } from '../../../../helpers/files';

const RULE: TransitiveRule = {
  dev: 2049,
  inode: 1234,
  sha256: 'a'.repeat(64),
  compiler: '/usr/bin/x86_64-linux-gnu-ld.bfd',
  compilerSha256: 'b'.repeat(64),
  createdMs: 1_700_000_000_000,
  lastUsedMs: 1_700_000_000_500,
};

describe('the transitive rule snapshot', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => (dir = tempDir('transitive')));
  afterEach(() => dir.remove());

  it('keeps what it saved, only the owner can read it, and a missing file is no rules', () => {
    const store = new TransitiveStore(dir.dir);
    expect(store.load()).toEqual({ rules: [] });
    expect(store.save([RULE])).toBe(true);
    expect(store.save([RULE])).toBe(false);
    expect(statSync(join(dir.dir, TRANSITIVE_FILE)).mode & 0o777).toBe(0o600);
    expect(new TransitiveStore(dir.dir).load()).toEqual({ rules: [RULE] });
  });

  it('skips entries a hand or a crash broke, and says which', () => {
    const bad = [
      RULE,
      { ...RULE, sha256: 'zz' },
      { ...RULE, compiler: 'ld' },
      { ...RULE, dev: -1 },
    ];
    writeFileSync(join(dir.dir, TRANSITIVE_FILE), JSON.stringify(bad));
    const loaded = new TransitiveStore(dir.dir).load();
    expect(loaded.rules).toEqual([RULE]);
    expect(loaded.problem).toMatch(/3 entries skipped \(entry 1: sha256 must be 64 lowercase hex/);
  });

  it('ignores a file that is not a list of rules, naming it', () => {
    const path = join(dir.dir, TRANSITIVE_FILE);
    writeFileSync(path, '{"not": "a list"}');
    expect(new TransitiveStore(dir.dir).load().problem).toContain(`${path} must be a list`);
    writeFileSync(path, '[{');
    expect(new TransitiveStore(dir.dir).load().problem).toContain('is not JSON');
    chmodSync(path, 0o600);
    expect(readFileSync(path, 'utf8')).toBe('[{');
  });

  it('names what is wrong with an entry', () => {
    expect(transitiveRuleProblem(RULE)).toBeUndefined();
    expect(transitiveRuleProblem(null)).toBe('not an object');
    expect(transitiveRuleProblem({ ...RULE, inode: 1.5 })).toBe(
      'inode must be a non-negative integer',
    );
    expect(transitiveRuleProblem({ ...RULE, compilerSha256: 'A'.repeat(64) })).toBe(
      'compilerSha256 must be 64 lowercase hex digits',
    );
  });
});
