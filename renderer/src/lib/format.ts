import type { RequestState } from '../../../common/ipc';

const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/** "just now", "5 minutes ago", "yesterday". */
export function timeAgo(ms: number, now = Date.now()): string {
  const seconds = Math.round((ms - now) / 1000);
  if (Math.abs(seconds) < 45) return 'just now';
  const minutes = Math.round(seconds / 60);
  if (Math.abs(minutes) < 60) return relative.format(minutes, 'minute');
  const hours = Math.round(minutes / 60);
  if (Math.abs(hours) < 24) return relative.format(hours, 'hour');
  return relative.format(Math.round(hours / 24), 'day');
}

export const REQUEST_STATE_TEXT: Record<RequestState, string> = {
  queued: 'Waiting to be sent',
  pending: 'With the helpdesk',
  'needs-info': 'The helpdesk asked a question',
  approved: 'Approved',
  denied: 'Denied',
};
