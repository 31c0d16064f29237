// Santa's policies and rule fields as the agent takes them from a sync: the rule keeps Santa's
// policy and every text (issue 16); the exec path enforces common/policy.ts execPolicy of it: the
// silent blocks block, and a CEL rule, which needs Santa's evaluator, matches nothing on Linux.
import { describe, expect, it } from 'vitest';
import { downloadRules, ruleChange } from '../../../../../../main/agent/sync/stages/rule-download';
import { context, fakeAgent } from '../fake-agent';
import { json, transport } from '../fake-server';

const hash = 'd'.repeat(64);
const rule = (policy: string, extra: Record<string, unknown> = {}) =>
  ruleChange({ identifier: hash, rule_type: 'BINARY', policy, ...extra });

describe('ruledownload: Santa policies on a Linux agent', () => {
  it('keeps the silent blocks by their Santa names, with their texts', () => {
    expect(rule('SILENT_GUI_BLOCKLIST')).toMatchObject({ policy: 'SILENT_GUI_BLOCKLIST' });
    expect(rule('SILENT_TTY_BLOCKLIST', { custom_msg: 'no' })).toMatchObject({
      policy: 'SILENT_TTY_BLOCKLIST',
      customMsg: 'no',
    });
  });

  it('keeps a CEL rule with its expression (it matches nothing here)', () => {
    expect(rule('CEL', { cel_expr: 'true' })).toEqual({
      type: 'BINARY',
      identifier: hash,
      policy: 'CEL',
      celExpr: 'true',
      customMsg: null,
      customUrl: null,
      eventDetailButtonLabel: null,
      notificationAppName: null,
    });
    expect(rule('CEL')).toMatch(/a CEL rule without cel_expr/);
    expect(rule('CEL', { cel_expr: 'x'.repeat(8193) })).toMatch(/longer than 8192/);
  });

  it('keeps every text of the rule, the button label cut as Santa cuts it', () => {
    expect(
      rule('ALLOWLIST', {
        custom_msg: 'Ask <b>IT</b>',
        custom_url: 'https://help.example/%file_sha%',
        event_detail_button_label: 'L'.repeat(60),
        notification_app_name: 'Xcode',
        cel_expr: 'ignored for a non-CEL rule',
      }),
    ).toEqual({
      type: 'BINARY',
      identifier: hash,
      policy: 'ALLOWLIST',
      customMsg: 'Ask <b>IT</b>',
      customUrl: 'https://help.example/%file_sha%',
      celExpr: null,
      eventDetailButtonLabel: 'L'.repeat(48),
      notificationAppName: 'Xcode',
    });
    expect(rule('ALLOWLIST', { custom_msg: '  ', notificationAppName: 'Xcode' })).toMatchObject({
      customMsg: null,
      notificationAppName: 'Xcode',
    });
  });

  it('still refuses a policy Santa does not have', () => {
    expect(rule('SEATBELT')).toMatch(/policy must be one of/);
  });

  it("passes on notification_app_name of a normal sync's allows, never a clean sync's", async () => {
    const rules = [
      {
        identifier: hash,
        rule_type: 'BINARY',
        policy: 'ALLOWLIST',
        notification_app_name: 'Xcode',
      },
      {
        identifier: 'e'.repeat(64),
        rule_type: 'BINARY',
        policy: 'BLOCKLIST',
        notification_app_name: 'Bad',
      },
      {
        identifier: 'f'.repeat(64),
        rule_type: 'BINARY',
        policy: 'REMOVE',
        notification_app_name: 'Gone',
      },
      {
        identifier: 'EQHXZ8M8AV',
        rule_type: 'TEAMID',
        policy: 'ALLOWLIST',
        notification_app_name: 'Team',
      },
    ];
    const normal = fakeAgent();
    await downloadRules(context(normal, transport(() => json({ rules })).transport), 'NORMAL');
    expect(normal.notices).toEqual([{ sha256: hash, appName: 'Xcode' }]);
    const clean = fakeAgent();
    await downloadRules(context(clean, transport(() => json({ rules })).transport), 'CLEAN');
    expect(clean.notices).toEqual([]);
  });
});
