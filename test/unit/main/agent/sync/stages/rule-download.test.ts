import { describe, expect, it } from 'vitest';
import { downloadRules, ruleChange } from '../../../../../../main/agent/sync/stages/rule-download';
import { context, fakeAgent } from '../fake-agent';
import { json, transport } from '../fake-server';

const hash = (c: string) => c.repeat(64);

describe('ruledownload stage', () => {
  it('follows the cursor and applies every page at once', async () => {
    const fake = fakeAgent();
    const pages = [
      {
        rules: [{ identifier: hash('a'), policy: 'ALLOWLIST', rule_type: 'BINARY' }],
        cursor: 'p2',
      },
      { rules: [{ identifier: hash('b'), policy: 'REMOVE', rule_type: 'BINARY' }] },
    ];
    const { transport: t, sent } = transport(() => json(pages.shift()));
    expect(await downloadRules(context(fake, t), 'NORMAL')).toEqual({
      received: 2,
      processed: 2,
      skipped: [],
    });
    expect(sent.map((s) => s.body!.cursor)).toEqual([undefined, 'p2']);
    expect(fake.applied).toHaveLength(1);
    expect(fake.applied[0]!.how).toBe('apply');
  });

  it('replaces the synced rules in a clean sync, where a removal has nothing to remove', async () => {
    const fake = fakeAgent();
    const { transport: t } = transport(() =>
      json({
        rules: [
          { identifier: hash('a'), policy: 'ALLOWLIST', rule_type: 'BINARY' },
          { identifier: hash('b'), policy: 'REMOVE', rule_type: 'BINARY' },
        ],
      }),
    );
    await downloadRules(context(fake, t), 'CLEAN');
    expect(fake.applied).toEqual([
      { how: 'replace', changes: [expect.objectContaining({ identifier: hash('a') })] },
    ]);
  });

  it('counts every skipped rule but names only the first ten', async () => {
    const fake = fakeAgent();
    const bad = Array.from({ length: 12 }, (_, i) => ({
      identifier: `bad-${i}`,
      policy: 'ALLOWLIST',
      rule_type: 'BINARY',
    }));
    const { transport: t } = transport(() => json({ rules: bad }));
    const rules = await downloadRules(context(fake, t), 'NORMAL');
    expect(rules).toMatchObject({ received: 12, processed: 0 });
    expect(rules.skipped).toHaveLength(10);
  });

  it('applies nothing when a page is malformed', async () => {
    const fake = fakeAgent();
    const pages = [
      {
        rules: [{ identifier: hash('a'), policy: 'ALLOWLIST', rule_type: 'BINARY' }],
        cursor: 'p2',
      },
      { rules: 'all of them' },
    ];
    const { transport: t } = transport(() => json(pages.shift()));
    await expect(downloadRules(context(fake, t), 'NORMAL')).rejects.toThrow(
      'ruledownload: the server sent "rules" that is not a list; nothing was applied',
    );
    expect(fake.applied).toHaveLength(0);
  });

  it("reads older servers' spellings", () => {
    expect(
      ruleChange({ sha256: hash('c'), policy: 'BLACKLIST', ruleType: 'binary' }),
    ).toMatchObject({
      type: 'BINARY',
      identifier: hash('c'),
      policy: 'BLOCKLIST',
      customMsg: null,
      customUrl: null,
    });
    expect(ruleChange('BINARY')).toBe('a rule that is not an object');
  });
});
