import type { RequestRecord } from '../../../common/control';
import { askingCommand } from '../command';

const STATE_TEXT: Record<string, string> = {
  queued: 'queued (goes to the helpdesk with the next sync)',
  pending: 'waiting for the helpdesk',
  'needs-info': 'the helpdesk asked a question',
  approved: 'approved',
  denied: 'denied',
};

export function formatRequest(r: RequestRecord): string {
  return [
    `request #${r.id} for event #${r.eventId}: ${STATE_TEXT[r.state] ?? r.state}`,
    `  you: ${r.justification}`,
    ...r.messages.map((m) => `  ${m.author === 'helpdesk' ? m.authorName : 'you'}: ${m.body}`),
  ].join('\n');
}

export const requests = askingCommand(
  {
    name: 'requests',
    synopsis: 'requests',
    summary: "your approval requests, their state and the helpdesk's messages",
  },
  (service) => service.call('requests.list'),
  (list) => (list.length ? list.map(formatRequest).join('\n') : 'no requests'),
);
