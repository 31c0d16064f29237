// The one precedence between rules for one target (common/rules.ts), and Santa's counts.
import { describe, expect, it } from 'vitest';
import {
  countRule,
  countsThatDisagree,
  noRuleCounts,
  outranks,
  resolveRules,
} from '../../../common/rules';

const rule = (id: number, scope: string, policy: string, identifier = 'a') => ({
  id,
  rule_type: 'BINARY',
  identifier,
  scope,
  policy,
});

describe('scope precedence', () => {
  it('machine over tag over user over global, whatever is newer or stricter', () => {
    const order = ['global', 'user', 'tag', 'machine'];
    for (const [i, narrow] of order.entries())
      for (const wide of order.slice(0, i)) {
        expect(outranks(rule(1, narrow, 'ALLOWLIST'), rule(2, wide, 'BLOCKLIST'))).toBe(true);
        expect(outranks(rule(2, wide, 'BLOCKLIST'), rule(1, narrow, 'ALLOWLIST'))).toBe(false);
      }
  });

  it('within one level a block beats CEL beats an allow, then the newer wins', () => {
    expect(outranks(rule(1, 'tag', 'SILENT_TTY_BLOCKLIST'), rule(2, 'tag', 'CEL'))).toBe(true);
    expect(outranks(rule(1, 'tag', 'CEL'), rule(2, 'tag', 'ALLOWLIST_COMPILER'))).toBe(true);
    expect(outranks(rule(2, 'tag', 'ALLOWLIST'), rule(1, 'tag', 'ALLOWLIST_COMPILER'))).toBe(true);
  });

  it('resolves one winner per (rule type, identifier), in any order', () => {
    const rules = [
      rule(1, 'global', 'ALLOWLIST'),
      rule(2, 'machine', 'ALLOWLIST'),
      rule(3, 'tag', 'BLOCKLIST'),
      rule(4, 'global', 'BLOCKLIST', 'b'),
    ];
    for (const order of [rules, [...rules].reverse()])
      expect([...resolveRules(order).values()].map((r) => r.id).sort()).toEqual([2, 4]);
  });
});

describe("Santa's counts", () => {
  it('counts compilers in their type and in compiler, and takes transitive rules off binary', () => {
    const counts = noRuleCounts();
    countRule(counts, { rule_type: 'BINARY', policy: 'ALLOWLIST_COMPILER' });
    countRule(counts, { rule_type: 'SIGNINGID', policy: 'ALLOWLIST_COMPILER' });
    countRule(counts, { rule_type: 'TEAMID', policy: 'CEL' });
    expect(counts).toMatchObject({ binary: 1, signingid: 1, teamid: 1, compiler: 2 });
    expect(countsThatDisagree({ binary: 4, transitive: 3, compiler: 2 }, counts)).toEqual([]);
    expect(countsThatDisagree({ binary: 1, teamid: 0 }, counts)).toEqual(['teamid']);
  });
});
