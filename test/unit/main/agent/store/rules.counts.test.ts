// The counts the agent reports at preflight: what the sync server gave it, as Santa counts its
// table, so that the server's drift check (server/README.md) compares like with like.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../../../main/agent/store/database';
import { RuleStore } from '../../../../../main/agent/store/rules';
import { tempDir } from '../../../../helpers/files';

describe('rule store counts for preflight', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => (dir = tempDir('rule-counts')));
  afterEach(() => dir.remove());

  it('counts synced rules only, compilers in their type and in compiler', () => {
    const db = openDatabase(dir.dir);
    const store = new RuleStore(db, [
      { type: 'BINARY', identifier: 'f'.repeat(64), policy: 'ALLOWLIST' },
    ]);
    store.apply(
      [
        { type: 'BINARY', identifier: 'a'.repeat(64), policy: 'ALLOWLIST_COMPILER' },
        { type: 'BINARY', identifier: 'b'.repeat(64), policy: 'BLOCKLIST' },
        { type: 'TEAMID', identifier: 'EQHXZ8M8AV', policy: 'ALLOWLIST' },
      ],
      'sync',
    );
    store.apply([{ type: 'BINARY', identifier: 'c'.repeat(64), policy: 'ALLOWLIST' }], 'local');
    expect(store.syncedCounts()).toEqual({
      binary: 2,
      certificate: 0,
      compiler: 1,
      teamid: 1,
      signingid: 0,
      cdhash: 0,
    });
    expect(store.counts().BINARY).toBe(4);
    db.close();
  });
});
