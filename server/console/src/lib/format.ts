// How times, ages and sizes read in the console.
export const when = (ms: number): string =>
  new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function ago(ms: number, now = Date.now()): string {
  const minutes = Math.round((now - ms) / 60_000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.round(hours / 24)} days ago`;
}

export function bytes(size: number): string {
  if (size < 1024) return `${size} B`;
  if (size < 1024 ** 2) return `${(size / 1024).toFixed(1)} KiB`;
  return `${(size / 1024 ** 2).toFixed(1)} MiB`;
}

export const STATE_LABELS: Record<string, string> = {
  pending: 'Pending',
  'needs-info': 'Waiting for an answer',
  approved: 'Approved',
  denied: 'Denied',
};

export const SCOPE_LABELS: Record<string, string> = {
  global: 'Everyone',
  tag: 'Tag',
  user: 'User',
  machine: 'Machine',
};

/** "3 binary, 1 teamid": the kinds of rule a machine holds, those it has any of. */
export const ruleCounts = (counts: Record<string, number>): string =>
  Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${n} ${kind}`)
    .join(', ');

/** How the rule and settings forms offer each scope, in their order, and name its value. */
const SCOPE_FORM: Record<string, { readonly choice: string; readonly value: string }> = {
  global: { choice: 'Everyone', value: '' },
  tag: { choice: 'Machines with a tag', value: 'Tag' },
  user: { choice: 'Machines of a primary user', value: 'Primary user' },
  machine: { choice: 'One machine', value: 'Machine id' },
};

/** A scope select's options, [scope, how it reads], for the scopes a form offers. */
export const scopeChoices = (scopes: readonly string[]): (readonly [string, string])[] =>
  Object.entries(SCOPE_FORM)
    .filter(([scope]) => scopes.includes(scope))
    .map(([scope, { choice }]) => [scope, choice] as const);

/** What a form calls the value of a scope: the tag, the primary user, the machine id. */
export const scopeValueLabel = (scope: string): string => SCOPE_FORM[scope]?.value ?? scope;

export function scopeText(scope: string, value: string | null): string {
  return scope === 'global' ? 'everyone' : `${scope} ${value ?? ''}`.trim();
}

/** A query string from the values that are set, in a stable order. */
export function queryString(values: Record<string, string | number | undefined | null>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(values))
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The filters a URL names; one it does not name (or leaves empty) is as in `empty`. */
export function filtersFrom<T extends { [K in keyof T]: string }>(
  params: URLSearchParams,
  empty: T,
): T {
  return Object.fromEntries(
    Object.entries(empty).map(([key, value]) => [key, params.get(key) || value]),
  ) as T;
}

export const searchParams = (search: string): URLSearchParams => new URLSearchParams(search);

/** "Approved by grace for user ada", "Denied by grace", "Pending". */
export function decisionText(
  state: string,
  decidedBy: string | null,
  ruleScope: string | null = null,
  ruleScopeValue: string | null = null,
): string {
  const parts = [STATE_LABELS[state] ?? state];
  if (decidedBy) parts.push(`by ${decidedBy}`);
  if (ruleScope) parts.push(`for ${scopeText(ruleScope, ruleScopeValue)}`);
  return parts.join(' ');
}
