// Santa's precedence, table-driven: every pair of rule types, both ways round, in both modes, with
// and without scopes. Decided in one place, natively (what the exec path runs); the words come
// from common/policy's explainVerdict.
import { describe, expect, it } from 'vitest';
import { explainVerdict, type FileIdentity, type PathScopes } from '../../../../../common/policy';
import {
  RULE_TYPES,
  type Policy,
  type RuleIdentity,
  type RuleType,
} from '../../../../../common/rules';
import { nativeAddon } from '../../../../../native/index';

const IDENTITY: Required<Omit<FileIdentity, 'packageIntact'>> = {
  cdhash: 'a1'.repeat(20),
  sha256: 'b2'.repeat(32),
  signingId: 'EQHXZ8M8AV:com.example.tool',
  certificateSha256: 'c3'.repeat(32),
  teamId: 'EQHXZ8M8AV',
  path: '/opt/tools/bin/tool',
};
const FIELD: Record<RuleType, 'cdhash' | 'sha256' | 'signingId' | 'certificateSha256' | 'teamId'> =
  {
    CDHASH: 'cdhash',
    BINARY: 'sha256',
    SIGNINGID: 'signingId',
    CERTIFICATE: 'certificateSha256',
    TEAMID: 'teamId',
  };
const rule = (type: RuleType, policy: Policy): RuleIdentity => ({
  type,
  identifier: IDENTITY[FIELD[type]],
  policy,
});
const rank = (type: RuleType) => RULE_TYPES.indexOf(type);

function both(
  rules: RuleIdentity[],
  mode: 'MONITOR' | 'LOCKDOWN',
  scopes: PathScopes = {},
  identity: FileIdentity = IDENTITY,
) {
  return explainVerdict(nativeAddon().evaluate(identity, rules, mode, scopes));
}

describe('rule precedence: CDHASH > BINARY > SIGNINGID > CERTIFICATE > TEAMID > scopes > mode', () => {
  const pairs = RULE_TYPES.flatMap((a) =>
    RULE_TYPES.filter((b) => b !== a).map((b) => [a, b] as const),
  );

  it.each(pairs)('%s allow vs %s block: the higher type decides', (allowType, blockType) => {
    for (const mode of ['MONITOR', 'LOCKDOWN'] as const) {
      const result = both([rule(allowType, 'ALLOWLIST'), rule(blockType, 'BLOCKLIST')], mode);
      const winner = rank(allowType) < rank(blockType) ? allowType : blockType;
      expect(result.decision).toBe(`${winner === allowType ? 'ALLOW' : 'BLOCK'}_${winner}`);
      expect(result.rule?.type).toBe(winner);
    }
  });

  it.each(RULE_TYPES)('a %s rule alone decides in either mode, for every policy', (type) => {
    for (const mode of ['MONITOR', 'LOCKDOWN'] as const) {
      for (const policy of [
        'ALLOWLIST',
        'ALLOWLIST_COMPILER',
        'BLOCKLIST',
        'SILENT_BLOCKLIST',
      ] as const) {
        const allow = policy.startsWith('ALLOW');
        expect(both([rule(type, policy)], mode).decision).toBe(
          `${allow ? 'ALLOW' : 'BLOCK'}_${type}`,
        );
      }
    }
  });

  it('a rule beats both scopes; a blocked scope beats an allowed one; scopes beat the mode', () => {
    const scopes = { allowed: ['/opt/tools'], blocked: ['/opt/tools/bin/'] };
    expect(both([rule('TEAMID', 'ALLOWLIST')], 'LOCKDOWN', scopes).decision).toBe('ALLOW_TEAMID');
    expect(both([], 'MONITOR', scopes)).toMatchObject({
      decision: 'BLOCK_SCOPE',
      reason: 'Blocked path',
    });
    expect(both([], 'LOCKDOWN', { allowed: ['/opt/tools'] })).toMatchObject({
      decision: 'ALLOW_SCOPE',
    });
    expect(both([], 'LOCKDOWN', { allowed: ['/opt/tool'] }).decision).toBe('BLOCK_UNKNOWN');
    expect(both([], 'MONITOR', {}).decision).toBe('ALLOW_UNKNOWN');
    expect(both([], 'LOCKDOWN', { allowed: ['/'] }).decision).toBe('ALLOW_SCOPE');
  });

  it('package trust comes after both scopes and before the mode', () => {
    const trusted = { ...IDENTITY, packageIntact: true };
    const check = (rules: RuleIdentity[], scopes: PathScopes) =>
      both(rules, 'LOCKDOWN', scopes, trusted).decision;
    expect(check([], {})).toBe('ALLOW_PLATFORM');
    expect(check([rule('BINARY', 'BLOCKLIST')], {})).toBe('BLOCK_BINARY');
    expect(check([], { blocked: ['/opt'] })).toBe('BLOCK_SCOPE');
    expect(check([], { allowed: ['/opt'] })).toBe('ALLOW_SCOPE');
    expect(both([], 'LOCKDOWN').decision).toBe('BLOCK_UNKNOWN');
  });

  it('digests match whatever their case', () => {
    const upper = {
      type: 'BINARY' as const,
      identifier: IDENTITY.sha256.toUpperCase(),
      policy: 'BLOCKLIST' as const,
    };
    expect(both([upper], 'MONITOR').decision).toBe('BLOCK_BINARY');
  });
});
