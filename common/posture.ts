// A security posture check's result, as the service reports it to the menu bar, gatehousectl and
// the backend. The checks themselves run in the service (main/agent/posture).

export type PostureStatus = 'pass' | 'fail' | 'unknown';

export interface PostureResult {
  /** Stable identifier, for example `linux.disk-encryption`. */
  readonly id: string;
  /** What is checked, in a few plain words: "Disk encryption". */
  readonly title: string;
  readonly status: PostureStatus;
  /** What was read and what it said; for unknown, why the check could not tell. */
  readonly evidence: string;
  /** One line telling the employee what to do when the check does not pass. */
  readonly remediation: string;
  /** When the check last ran, milliseconds since the epoch. */
  readonly checkedAt: number;
}

const STATUSES: readonly PostureStatus[] = ['pass', 'fail', 'unknown'];
const MAX_TEXT = 2_000;

function text(value: unknown, max = MAX_TEXT): string | undefined {
  return typeof value === 'string' && value.length <= max ? value : undefined;
}

/** Validates one result crossing a process boundary; undefined when it is malformed. */
export function parsePostureResult(value: unknown): PostureResult | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const id = text(record.id, 100);
  const title = text(record.title, 200);
  const status = STATUSES.find((candidate) => candidate === record.status);
  const evidence = text(record.evidence);
  const remediation = text(record.remediation);
  const checkedAt = record.checkedAt;
  if (
    id === undefined ||
    id === '' ||
    title === undefined ||
    status === undefined ||
    evidence === undefined ||
    remediation === undefined ||
    typeof checkedAt !== 'number' ||
    !Number.isSafeInteger(checkedAt) ||
    checkedAt < 0
  ) {
    return undefined;
  }
  return { id, title, status, evidence, remediation, checkedAt };
}

/** Validates a list of results; malformed entries are dropped, at most 100 are kept. */
export function parsePostureResults(value: unknown): PostureResult[] {
  if (!Array.isArray(value)) return [];
  return value
    .slice(0, 100)
    .map(parsePostureResult)
    .filter((result): result is PostureResult => result !== undefined);
}
