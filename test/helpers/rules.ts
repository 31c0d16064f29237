// Rules as tests put them straight into the repository (what the console or an approval would).
import type { NewRule } from '../../server/db/rules';

/** A binary rule that allows the file on every machine, with the fields a test sets otherwise. */
export function binaryRule(identifier: string, fields: Partial<NewRule> = {}): NewRule {
  return {
    identifier,
    rule_type: 'BINARY',
    policy: 'ALLOWLIST',
    scope: 'global',
    scope_value: null,
    created_by: 'test',
    ...fields,
  };
}
