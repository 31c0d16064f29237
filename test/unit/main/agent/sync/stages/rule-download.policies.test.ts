// Santa's policies beyond the four the Linux exec path enforces, as the agent takes them from a
// sync (common/policy.ts execPolicy): the silent blocks block, and a CEL rule, which needs Santa's
// evaluator, holds nothing for its target.
import { describe, expect, it } from 'vitest';
import { ruleChange } from '../../../../../../main/agent/sync/stages/rule-download';

const hash = 'd'.repeat(64);
const rule = (policy: string, extra: Record<string, unknown> = {}) =>
  ruleChange({ identifier: hash, rule_type: 'BINARY', policy, ...extra });

describe('ruledownload: Santa policies on a Linux agent', () => {
  it('blocks for SILENT_GUI_BLOCKLIST without the dialog, and for SILENT_TTY_BLOCKLIST with it', () => {
    expect(rule('SILENT_GUI_BLOCKLIST')).toMatchObject({ policy: 'SILENT_BLOCKLIST' });
    expect(rule('SILENT_TTY_BLOCKLIST', { custom_msg: 'no' })).toMatchObject({
      policy: 'BLOCKLIST',
      customMsg: 'no',
    });
  });

  it('lets a CEL rule take the place of what it held for the target, matching nothing', () => {
    expect(rule('CEL', { cel_expr: 'true' })).toEqual({
      type: 'BINARY',
      identifier: hash,
      policy: 'REMOVE',
      customMsg: null,
      customUrl: null,
    });
  });

  it('still refuses a policy Santa does not have', () => {
    expect(rule('SEATBELT')).toMatch(/policy must be one of/);
  });
});
