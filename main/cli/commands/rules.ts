import type { ControlResult, RuleRecord } from '../../../common/control';
import { askingCommand } from '../command';

type Transitive = ControlResult<'rules.transitive'>;
/** What the service answered, printed as it is under --json. */
type Listing = Transitive | RuleRecord[];

function formatTransitive({ enabled, rules }: Transitive): string {
  const state = `transitive rules: ${enabled ? 'on' : 'off (EnableTransitiveRules)'}, ${rules.length} held`;
  const lines = [...rules]
    .sort((a, b) => b.lastUsedMs - a.lastUsedMs)
    .map(
      (rule) =>
        `${rule.sha256}  dev=${rule.dev} inode=${rule.inode}  built by ${rule.compiler}  ` +
        `${new Date(rule.createdMs).toISOString()}  last used ${new Date(rule.lastUsedMs).toISOString()}`,
    );
  return [state, ...lines].join('\n');
}

/** What the Linux exec path does with a rule whose Santa policy it cannot take as it is. */
function enforcement(rule: RuleRecord): string {
  if (rule.policy === 'CEL')
    return ' (matches nothing on Linux: Santa evaluates CEL on macOS only)';
  if (rule.enforced && rule.enforced !== rule.policy) return ` (enforced as ${rule.enforced})`;
  return '';
}

/** One rule a line, then its texts indented beneath it, each as Santa's field name says. */
export function formatRule(rule: RuleRecord): string {
  const texts: [string, string | null | undefined][] = [
    ['cel_expr', rule.celExpr],
    ['custom_msg', rule.customMsg],
    ['custom_url', rule.customUrl],
    ['event_detail_button_label', rule.eventDetailButtonLabel],
    ['notification_app_name', rule.notificationAppName],
    ['comment', rule.comment],
  ];
  const expires = rule.expiresAt ? `, until ${new Date(rule.expiresAt).toISOString()}` : '';
  return [
    `${rule.type} ${rule.identifier}  ${rule.policy}${enforcement(rule)}  (${rule.source}${expires})`,
    ...texts.filter(([, value]) => value).map(([name, value]) => `    ${name}: ${value}`),
  ].join('\n');
}

export function formatRules(listing: Listing): string {
  if (!Array.isArray(listing)) return formatTransitive(listing);
  return listing.length === 0 ? 'no rules' : listing.map(formatRule).join('\n');
}

export const rules = askingCommand<Listing>(
  {
    name: 'rules',
    synopsis: 'rules [--transitive] [--limit N] [--offset N]',
    summary:
      "the rules this machine holds, static ones first, with every field of Santa's rule (root); --transitive: those compilers made here, most recently used first",
    options: {
      transitive: { type: 'boolean' },
      limit: { type: 'string' },
      offset: { type: 'string' },
    },
  },
  (service, { values }) => {
    if (values.transitive) return service.call('rules.transitive');
    const number = (value: unknown) => (typeof value === 'string' ? Number(value) : undefined);
    const limit = number(values.limit);
    const offset = number(values.offset);
    return service.call('rules.list', {
      ...(limit !== undefined ? { limit } : {}),
      ...(offset !== undefined ? { offset } : {}),
    });
  },
  formatRules,
);
