import type { EventRecord } from '../../../common/control';
import { DECISION_REASONS } from '../../../common/policy';
import { askingCommand } from '../command';

function formatEvent(e: EventRecord): string {
  const when = new Date(e.lastSeen * 1000).toISOString();
  const count = e.occurrences > 1 ? ` ×${e.occurrences}` : '';
  const hash = e.fileSha256 ? `sha256=${e.fileSha256}` : 'not hashed';
  const why = e.reason ? `  (${DECISION_REASONS[e.reason]})` : '';
  return `#${e.id}  ${when}  ${e.decision.padEnd(15)} ${e.filePath}/${e.fileName}${count}  user=${e.executingUser ?? e.uid} ${hash}${why}`;
}

export const events = askingCommand(
  {
    name: 'events',
    synopsis: 'events [--limit N]',
    summary: 'recent events (yours; all of them for root), with their ids',
    options: { limit: { type: 'string' } },
  },
  (service, { values }) =>
    service.call('events', { limit: typeof values.limit === 'string' ? Number(values.limit) : 50 }),
  (list) => (list.length ? list.map(formatEvent).join('\n') : 'no events'),
);
