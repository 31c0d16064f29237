// Every field of Santa's rule kept by the agent's store (issue 16): Santa's policy as the server
// named it, CEL with its expression, the silent blocks, custom message and URL, the button label
// and the notification app name; the native table gets only what the Linux exec path enforces.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RuleChange } from '../../../../../common/rules';
import { openDatabase, type Db } from '../../../../../main/agent/store/database';
import { RuleStore } from '../../../../../main/agent/store/rules';
import { tempDir } from '../../../../helpers/files';

const sha = (c: string) => c.repeat(64);

describe('rule store: every Santa rule field', () => {
  let dir: ReturnType<typeof tempDir>;
  let db: Db;
  beforeEach(() => {
    dir = tempDir('rule-fields');
    db = openDatabase(dir.dir);
  });
  afterEach(() => {
    db.close();
    dir.remove();
  });

  it('keeps the texts and the policy as Santa named it, and says what is enforced', () => {
    const store = new RuleStore(db);
    store.apply(
      [
        {
          type: 'BINARY',
          identifier: sha('a'),
          policy: 'ALLOWLIST',
          customMsg: 'Approved by IT',
          customUrl: 'https://help.example/%file_sha%',
          eventDetailButtonLabel: 'Ask IT',
          notificationAppName: 'Xcode',
        },
        {
          type: 'BINARY',
          identifier: sha('b'),
          policy: 'CEL',
          celExpr: 'target.signing_time >= timestamp("2025-01-01T00:00:00Z")',
        },
        { type: 'BINARY', identifier: sha('c'), policy: 'SILENT_GUI_BLOCKLIST' },
        { type: 'BINARY', identifier: sha('d'), policy: 'SILENT_TTY_BLOCKLIST' },
      ],
      'sync',
    );
    expect(store.get('BINARY', sha('a'))).toMatchObject({
      policy: 'ALLOWLIST',
      enforced: 'ALLOWLIST',
      customMsg: 'Approved by IT',
      customUrl: 'https://help.example/%file_sha%',
      eventDetailButtonLabel: 'Ask IT',
      notificationAppName: 'Xcode',
      celExpr: null,
    });
    expect(store.get('BINARY', sha('b'))).toMatchObject({
      policy: 'CEL',
      enforced: null,
      celExpr: 'target.signing_time >= timestamp("2025-01-01T00:00:00Z")',
    });
    expect(store.list().map((rule) => [rule.policy, rule.enforced])).toEqual([
      ['ALLOWLIST', 'ALLOWLIST'],
      ['CEL', null],
      ['SILENT_GUI_BLOCKLIST', 'SILENT_BLOCKLIST'],
      ['SILENT_TTY_BLOCKLIST', 'BLOCKLIST'],
    ]);
  });

  it('gives the native table nothing for a CEL rule, and the silent blocks as it enforces them', () => {
    const store = new RuleStore(db);
    const deltas: RuleChange[][] = [];
    store.onChange((delta) => deltas.push(delta));
    store.apply([{ type: 'BINARY', identifier: sha('b'), policy: 'ALLOWLIST' }], 'sync');
    // The CEL rule takes the place of the allow: the native table holds nothing for it now.
    store.apply(
      [
        { type: 'BINARY', identifier: sha('b'), policy: 'CEL', celExpr: 'true' },
        { type: 'TEAMID', identifier: 'EQHXZ8M8AV', policy: 'CEL', celExpr: 'false' },
        { type: 'BINARY', identifier: sha('c'), policy: 'SILENT_GUI_BLOCKLIST' },
      ],
      'sync',
    );
    const byIdentifier = [...deltas.at(-1)!].sort((x, y) =>
      x.identifier.localeCompare(y.identifier),
    );
    expect(byIdentifier).toEqual([
      { type: 'BINARY', identifier: sha('b'), policy: 'REMOVE' },
      { type: 'BINARY', identifier: sha('c'), policy: 'SILENT_BLOCKLIST' },
      { type: 'TEAMID', identifier: 'EQHXZ8M8AV', policy: 'REMOVE' },
    ]);
    const table = store.forNative();
    const binary = [...table.binary];
    expect(table.others).toEqual([]);
    expect(binary.map((chunk) => Buffer.from(chunk.digests).toString('hex'))).toEqual([sha('c')]);
    expect(store.skipped.count).toBe(0);
    expect(store.effective()).toEqual([
      { type: 'BINARY', identifier: sha('c'), policy: 'SILENT_BLOCKLIST' },
    ]);
  });

  it('counts a CEL rule in its type, as the server and Santa count it, so no drift is seen', () => {
    const store = new RuleStore(db);
    store.replace(
      [
        { type: 'BINARY', identifier: sha('b'), policy: 'CEL', celExpr: 'true' },
        { type: 'SIGNINGID', identifier: 'platform:com.apple.ls', policy: 'CEL', celExpr: 'x' },
      ],
      'sync',
    );
    expect(store.syncedCounts()).toMatchObject({ binary: 1, signingid: 1 });
  });

  it('sends a large sync of BINARY rules in chunks, leaving the CEL ones out', () => {
    const store = new RuleStore(db);
    const bulks: number[] = [];
    const deltas: RuleChange[] = [];
    store.onChange((delta, bulk) => {
      deltas.push(...delta);
      bulks.push(bulk.reduce((n, chunk) => n + chunk.policies.length, 0));
    });
    const hex = (i: number) => i.toString(16).padStart(64, '0');
    store.apply(
      [
        ...Array.from({ length: 1500 }, (_, i) => ({
          type: 'BINARY' as const,
          identifier: hex(i),
          policy: 'ALLOWLIST' as const,
        })),
        { type: 'BINARY', identifier: sha('e'), policy: 'CEL', celExpr: 'true' },
      ],
      'sync',
    );
    expect(bulks).toEqual([1500]);
    expect(deltas).toEqual([{ type: 'BINARY', identifier: sha('e'), policy: 'REMOVE' }]);
  });

  it('keeps the rules of a store an older version wrote, and adds the new fields to them', () => {
    // The store as the version before these fields left it (schema 5), holding one rule.
    db.exec(`ALTER TABLE rules DROP COLUMN cel_expr;
      ALTER TABLE rules DROP COLUMN event_detail_button_label;
      ALTER TABLE rules DROP COLUMN notification_app_name;
      DROP TABLE server_settings;
      INSERT INTO rules (rule_type, identifier, policy, custom_msg, source, created_at)
        VALUES ('BINARY', '${sha('a')}', 'BLOCKLIST', 'no', 'local', 1);
      PRAGMA user_version = 5;`);
    db.close();
    db = openDatabase(dir.dir);
    expect(new RuleStore(db).get('BINARY', sha('a'))).toMatchObject({
      policy: 'BLOCKLIST',
      enforced: 'BLOCKLIST',
      customMsg: 'no',
      celExpr: null,
      notificationAppName: null,
    });
  });
});
