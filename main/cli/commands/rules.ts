import type { ControlResult } from '../../../common/control';
import { askingCommand, UsageError } from '../command';

type Transitive = ControlResult<'rules.transitive'>;

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

export const rules = askingCommand<Transitive>(
  {
    name: 'rules',
    synopsis: 'rules --transitive',
    summary: 'the transitive rules compilers made on this machine, most recently used first (root)',
    options: { transitive: { type: 'boolean' } },
  },
  (service, { values }) => {
    // Other listings (rules.list) may join here; today the transitive ones are the only kind.
    if (!values.transitive) throw new UsageError('rules needs --transitive');
    return service.call('rules.transitive');
  },
  formatTransitive,
);
