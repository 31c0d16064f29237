// A rule the native table would refuse never reaches the agent's store, whichever way it comes
// in: the one rule constructor in common/ accepts exactly what the native table accepts.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  parseRule,
  RULE_TYPES,
  validateRuleIdentifier,
  type RuleType,
} from '../../../common/rules';
import { Agent } from '../../../main/agent/agent';
import { ConfigError, parseConfig } from '../../../main/agent/config/config';
import { openDatabase } from '../../../main/agent/store/database';
import { RuleStore } from '../../../main/agent/store/rules';
import { SyncClient } from '../../../main/agent/sync/client';
import { nativeAddon } from '../../../native/index';
import { useScratchPerTest } from '../../helpers/scratch';

const { scratch, cleanups } = useScratchPerTest('rule-ids');

/** Identifiers at and around every edge the native table draws. */
const CANDIDATES: readonly string[] = [
  '',
  'zz',
  'a'.repeat(39),
  'a'.repeat(40),
  'A'.repeat(40),
  `${'a'.repeat(39)}g`,
  'a'.repeat(41),
  'b'.repeat(63),
  'b'.repeat(64),
  `${'B'.repeat(32)}${'c'.repeat(32)}`,
  `${'b'.repeat(63)}x`,
  'b'.repeat(65),
  ` ${'b'.repeat(63)}`,
  'EQHXZ8M8AV',
  'EQHXZ8M8AV:com.example.tool',
  'platform:com.apple.ls',
  'x'.repeat(512),
  'x'.repeat(513),
  'é'.repeat(256), // 512 bytes of UTF-8
  'é'.repeat(257), // 514 bytes in 257 characters
  '€'.repeat(170), // 510 bytes
  '€'.repeat(171), // 513 bytes
  '😀'.repeat(128), // 512 bytes in 256 UTF-16 units
  '😀'.repeat(129),
  '\uD800'.repeat(170), // lone surrogates: 3 bytes each, as U+FFFD
  '\uD800'.repeat(171),
];

describe('the rule constructor (common/rules.ts)', () => {
  it('accepts exactly what the native table accepts, and canonicalises as it does', () => {
    const addon = nativeAddon();
    const field: Record<RuleType, string> = {
      BINARY: 'sha256',
      CERTIFICATE: 'certificateSha256',
      CDHASH: 'cdhash',
      TEAMID: 'teamId',
      SIGNINGID: 'signingId',
    };
    for (const type of RULE_TYPES) {
      for (const identifier of CANDIDATES) {
        const ours = validateRuleIdentifier(type, identifier);
        let native: string | null;
        try {
          const canonical = ours.ok ? ours.identifier : identifier;
          const verdict = addon.evaluate(
            { [field[type]]: canonical },
            [{ type, identifier, policy: 'BLOCKLIST' }],
            'MONITOR',
          );
          native = verdict.rule?.identifier ?? null;
        } catch {
          native = null;
        }
        const shown = `${type} ${JSON.stringify(identifier.slice(0, 20))}… (${identifier.length})`;
        expect(ours.ok ? ours.identifier : null, shown).toBe(native);
      }
    }
  });

  it('says which rule was wrong and what is allowed', () => {
    expect(() => parseRule({ type: 'CDHASH', identifier: 'zz', policy: 'ALLOWLIST' })).toThrow(
      'CDHASH rule "zz" refused: the identifier must be 40 hex digits',
    );
    expect(() =>
      parseRule({ type: 'TEAMID', identifier: 'é'.repeat(257), policy: 'ALLOWLIST' }),
    ).toThrow(
      /^TEAMID rule "é+…" refused: the identifier must be 1 to 512 bytes of UTF-8, got 514 bytes$/,
    );
    expect(() =>
      parseRule({ type: 'BINARY', identifier: 'b'.repeat(64), policy: 'ALLOW' }),
    ).toThrow(
      'BINARY rule "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" refused: the policy must be one of ALLOWLIST, ALLOWLIST_COMPILER, BLOCKLIST, SILENT_BLOCKLIST, got "ALLOW"',
    );
    expect(() => parseRule({ type: 'PATH', identifier: '/usr/bin', policy: 'ALLOWLIST' })).toThrow(
      'rule "/usr/bin" refused: the type must be one of CDHASH, BINARY, SIGNINGID, CERTIFICATE, TEAMID, got "PATH"',
    );
    expect(parseRule({ type: 'CDHASH', identifier: 'A'.repeat(40), policy: 'BLOCKLIST' })).toEqual({
      type: 'CDHASH',
      identifier: 'a'.repeat(40),
      policy: 'BLOCKLIST',
    });
  });
});

describe('a rule the native table would refuse', () => {
  it('is refused by the store before anything is committed', () => {
    const db = openDatabase(scratch());
    cleanups.push(() => db.close());
    const store = new RuleStore(db);
    for (const bad of [
      { type: 'CDHASH' as const, identifier: 'zz' },
      { type: 'TEAMID' as const, identifier: 'T'.repeat(513) },
      { type: 'SIGNINGID' as const, identifier: '' },
    ]) {
      expect(() =>
        store.apply(
          [
            { type: 'TEAMID', identifier: 'EQHXZ8M8AV', policy: 'ALLOWLIST' },
            { ...bad, policy: 'ALLOWLIST' },
          ],
          'local',
        ),
      ).toThrow(
        new RegExp(`^${bad.type} rule .* refused: .*; no rule of this change was applied$`),
      );
      expect(() => store.replace([{ ...bad, policy: 'BLOCKLIST' }], 'sync')).toThrow(
        /no rule of this change was applied/,
      );
    }
    expect(store.counts()).toEqual({
      CDHASH: 0,
      BINARY: 0,
      SIGNINGID: 0,
      CERTIFICATE: 0,
      TEAMID: 0,
    });
  });

  it('stored already, expires or is removed without touching the native table', () => {
    const state = join(scratch(), 'state');
    const db = openDatabase(state);
    db.prepare(
      "INSERT INTO rules (rule_type, identifier, policy, source, expires_at, created_at) VALUES ('CDHASH', 'zz', 'ALLOWLIST', 'sync', ?, 0), ('TEAMID', ?, 'BLOCKLIST', 'local', NULL, 0)",
    ).run(Date.now() + 3_600_000, 'T'.repeat(600));
    db.close();
    const { config } = parseConfig(
      JSON.stringify({ ClientMode: 'LOCKDOWN', StateDir: state }),
      '/test/config.json',
      () => 'm',
    );
    const agent = new Agent(config, { backend: 'fake', log: () => undefined });
    agent.start();
    cleanups.push(() => agent.stop());
    expect(agent.status().rulesSkipped.count).toBe(2);
    expect(agent.rules.expire(Date.now() + 7_200_000)).toBe(1);
    expect(agent.status().rulesSkipped).toEqual({
      count: 1,
      first: [expect.stringMatching(/^TEAMID rule "T+…" refused/)],
    });
    expect(() =>
      agent.rules.apply(
        [{ type: 'TEAMID', identifier: 'T'.repeat(600), policy: 'REMOVE' }],
        'local',
      ),
    ).toThrow(/no rule of this change was applied/);
    expect(agent.rules.removeUnusable('TEAMID', 'T'.repeat(600))).toBe(1);
    expect(agent.status().rulesSkipped.count).toBe(0);
    expect(agent.monitor.metrics().rules).toBe(0);
  });

  it('in the config stops the config, naming the rule', () => {
    const load = () =>
      parseConfig(
        JSON.stringify({
          StaticRules: [
            { identifier: 'T'.repeat(513), rule_type: 'TEAMID', policy: 'ALLOWLIST' },
            { identifier: 'EQHXZ8M8AV:tool', rule_type: 'SIGNINGID', policy: 'ALLOWLIST' },
          ],
        }),
        '/test/config.json',
        () => 'm',
      );
    expect(load).toThrow(ConfigError);
    expect(() => load()).toThrow(
      expect.objectContaining({
        problems: [
          'config: StaticRules[0]: identifier of a TEAMID rule must be 1 to 512 bytes of UTF-8, got 513 bytes (/test/config.json)',
        ],
      }),
    );
  });

  it('from the sync server is skipped, and the rest of the page applies', async () => {
    const { config } = parseConfig(
      JSON.stringify({ ClientMode: 'LOCKDOWN', StateDir: join(scratch(), 'state') }),
      '/test/config.json',
      () => 'm',
    );
    const agent = new Agent(config, { backend: 'fake' });
    agent.start();
    cleanups.push(() => agent.stop());
    const replies: Record<string, unknown> = {
      preflight: {},
      ruledownload: {
        rules: [
          { identifier: 'zz', policy: 'ALLOWLIST', rule_type: 'CDHASH' },
          { identifier: 'T'.repeat(600), policy: 'ALLOWLIST', rule_type: 'TEAMID' },
          { identifier: 'EQHXZ8M8AV', policy: 'ALLOWLIST', rule_type: 'TEAMID' },
          { identifier: 'C'.repeat(40), policy: 'BLOCKLIST', rule_type: 'CDHASH' },
        ],
      },
      postflight: {},
    };
    const fakeFetch = (async (url: URL) =>
      new Response(JSON.stringify(replies[url.pathname.split('/')[2]!] ?? {}), {
        status: 200,
      })) as unknown as typeof fetch;
    const sync = new SyncClient(agent, {
      baseUrl: 'http://127.0.0.1:9/santa/',
      machineId: 'm',
      fetch: fakeFetch,
      retries: 0,
    });
    const result = await sync.sync();
    expect(result).toMatchObject({ rulesReceived: 4, rulesProcessed: 2 });
    expect(result.rulesSkipped).toEqual([
      'CDHASH rule "zz" refused: the identifier must be 40 hex digits',
      expect.stringMatching(
        /^TEAMID rule "T+…" refused: .* 1 to 512 bytes of UTF-8, got 600 bytes$/,
      ),
    ]);
    expect(agent.rules.counts()).toMatchObject({ TEAMID: 1, CDHASH: 1 });
    expect(agent.rules.get('CDHASH', 'c'.repeat(40))?.policy).toBe('BLOCKLIST');
  });
});
