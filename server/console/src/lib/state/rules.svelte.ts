import { RULE_DETAIL_FIELDS, type RuleDetailField } from '../../../../../common/rules';
import { api } from '../api';
import { filtersFrom, queryString } from '../format';
import type { Rule } from '../types';
import type { Desk } from './desk';

export const RULES_PER_PAGE = 100;

export interface RuleFilters {
  scope: string;
  target: string;
  type: string;
  policy: string;
  q: string;
}

/** The new-rule form: its texts are the rule's detail fields (common/rules.ts), cel_expr for CEL. */
export interface RuleDraft extends Record<RuleDetailField, string> {
  rule_type: string;
  identifier: string;
  policy: string;
  scope: string;
  scope_value: string;
  expires: string;
  /** datetime-local, when expires is custom */
  expires_at: string;
  comment: string;
}

const EMPTY: RuleFilters = { scope: '', target: '', type: '', policy: '', q: '' };
const NEW_RULE: RuleDraft = {
  rule_type: 'BINARY',
  identifier: '',
  policy: 'ALLOWLIST',
  scope: 'global',
  scope_value: '',
  expires: 'none',
  expires_at: '',
  custom_msg: '',
  custom_url: '',
  cel_expr: '',
  event_detail_button_label: '',
  notification_app_name: '',
  comment: '',
};

export class RulesPage {
  filters = $state<RuleFilters>({ ...EMPTY });
  offset = $state(0);
  list = $state<Rule[]>([]);
  total = $state(0);
  readonly perPage = RULES_PER_PAGE;
  draft = $state<RuleDraft>({ ...NEW_RULE });
  /** The rule whose removal waits for a second click. */
  confirming = $state<number | null>(null);

  constructor(private readonly desk: Desk) {}

  async load(params: URLSearchParams): Promise<void> {
    const stale = this.desk.stale;
    this.filters = filtersFrom(params, EMPTY);
    this.offset = Number(params.get('offset')) || 0;
    this.confirming = null;
    const page = await api<{ rules: Rule[]; total: number }>(
      'GET',
      `/rules${queryString({ ...this.filters, offset: this.offset || '', limit: RULES_PER_PAGE })}`,
    );
    if (stale()) return;
    this.list = page.rules;
    this.total = page.total;
  }

  href(filters: RuleFilters = this.filters, offset = 0): string {
    return `/console/rules${queryString({ ...filters, offset: offset || '' })}`;
  }

  /** The same filters from another offset: what the pager links to. */
  pageHref(offset: number): string {
    return this.href(this.filters, offset);
  }

  async apply(): Promise<void> {
    await this.desk.go(this.href());
  }

  async clear(): Promise<void> {
    await this.desk.go(this.href({ ...EMPTY }));
  }

  async create(): Promise<void> {
    const draft = this.draft;
    this.desk.error = '';
    this.desk.notice = '';
    let expires: string | number = draft.expires;
    if (draft.expires === 'custom') {
      const at = Date.parse(draft.expires_at);
      if (!Number.isFinite(at)) {
        this.desk.error = 'Choose the date and time the rule expires.';
        return;
      }
      expires = at;
    }
    await this.desk.run(async () => {
      const rule = await api<Rule>('POST', '/rules', {
        rule_type: draft.rule_type,
        identifier: draft.identifier.trim(),
        policy: draft.policy,
        scope: draft.scope,
        ...(draft.scope === 'global' ? {} : { scope_value: draft.scope_value.trim() }),
        expires,
        ...Object.fromEntries(
          // The rule's texts, sent only when filled in.
          RULE_DETAIL_FIELDS.filter((field) => draft[field].trim() !== '').map((field) => [
            field,
            draft[field].trim(),
          ]),
        ),
        ...(draft.comment.trim() ? { comment: draft.comment.trim() } : {}),
      });
      this.draft = { ...NEW_RULE };
      await this.desk.show();
      this.desk.notice = `Rule ${rule.id} created: ${rule.policy} ${rule.rule_type} ${rule.identifier}.`;
    });
  }

  async remove(rule: Rule): Promise<void> {
    this.desk.error = '';
    this.desk.notice = '';
    await this.desk.run(async () => {
      await api('DELETE', `/rules/${rule.id}`);
      await this.desk.show();
      this.desk.notice = `Rule ${rule.id} removed.`;
    });
  }
}
