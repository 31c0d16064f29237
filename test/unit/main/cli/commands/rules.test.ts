// gatehousectl rules: every field of Santa's rule as the agent holds it, and what Linux does with
// a policy it cannot take as it is (issue 16).
import { describe, expect, it } from 'vitest';
import { formatRule, formatRules } from '../../../../../main/cli/commands/rules';

const sha = 'a'.repeat(64);

describe('gatehousectl rules', () => {
  it("prints each rule with Santa's field names, and says a CEL rule matches nothing here", () => {
    expect(
      formatRules([
        {
          type: 'BINARY',
          identifier: sha,
          policy: 'ALLOWLIST',
          enforced: 'ALLOWLIST',
          customMsg: 'Approved',
          customUrl: 'https://help.example/%file_sha%',
          eventDetailButtonLabel: 'Ask IT',
          notificationAppName: 'Xcode',
          source: 'sync',
        },
        {
          type: 'SIGNINGID',
          identifier: 'platform:com.apple.ls',
          policy: 'CEL',
          enforced: null,
          celExpr: 'target.signing_time > timestamp("2025-01-01T00:00:00Z")',
          source: 'sync',
        },
        {
          type: 'BINARY',
          identifier: 'b'.repeat(64),
          policy: 'SILENT_GUI_BLOCKLIST',
          enforced: 'SILENT_BLOCKLIST',
          source: 'sync',
          expiresAt: Date.UTC(2027, 0, 1),
        },
      ]),
    ).toBe(
      [
        `BINARY ${sha}  ALLOWLIST  (sync)`,
        '    custom_msg: Approved',
        '    custom_url: https://help.example/%file_sha%',
        '    event_detail_button_label: Ask IT',
        '    notification_app_name: Xcode',
        'SIGNINGID platform:com.apple.ls  CEL (matches nothing on Linux: Santa evaluates CEL on macOS only)  (sync)',
        '    cel_expr: target.signing_time > timestamp("2025-01-01T00:00:00Z")',
        `BINARY ${'b'.repeat(64)}  SILENT_GUI_BLOCKLIST (enforced as SILENT_BLOCKLIST)  (sync, until 2027-01-01T00:00:00.000Z)`,
      ].join('\n'),
    );
    expect(formatRules([])).toBe('no rules');
  });

  it('still lists the transitive rules apart', () => {
    expect(formatRules({ enabled: false, rules: [] })).toBe(
      'transitive rules: off (EnableTransitiveRules), 0 held',
    );
    expect(
      formatRule({
        type: 'TEAMID',
        identifier: 'EQHXZ8M8AV',
        policy: 'BLOCKLIST',
        source: 'static',
      }),
    ).toBe('TEAMID EQHXZ8M8AV  BLOCKLIST  (static)');
  });
});
