// Santa's file access events (EventUploadRequest.file_access_events, sync/v1.proto FileAccessEvent)
// read from an eventupload body: every field checked and bounded, refusals naming the event and
// the field as the execution events' do.
import {
  normalizeKeys,
  optionalCount,
  optionalString,
  SantaRequestError,
} from '../../../common/santa';
import type { FileAccessProcess, IncomingFileAccessEvent } from '../../db/file-access';

/** sync/v1.proto FileAccessDecision, by number as protobuf's JSON parsers also accept. */
const DECISIONS = [
  'FILE_ACCESS_DECISION_UNKNOWN',
  'FILE_ACCESS_DECISION_DENIED',
  'FILE_ACCESS_DECISION_DENIED_INVALID_SIGNATURE',
  'FILE_ACCESS_DECISION_AUDIT_ONLY',
];
/** One upload's file access events, and the processes kept of each chain. */
export const MAX_FILE_ACCESS_EVENTS = 1000;
const MAX_CHAIN = 16;

function decisionOf(value: unknown, at: string): string {
  if (value === undefined || value === null) return DECISIONS[0]!;
  if (typeof value === 'number' && DECISIONS[value]) return DECISIONS[value];
  if (typeof value === 'string' && DECISIONS.includes(value)) return value;
  throw new SantaRequestError(`${at}: decision must be one of ${DECISIONS.join(', ')}`);
}

function processOf(item: unknown, at: string): FileAccessProcess {
  const process = normalizeKeys(item, at);
  const sha = optionalString(process, 'file_sha256', at, 64);
  if (sha && !/^[0-9a-f]{64}$/i.test(sha))
    throw new SantaRequestError(`${at}: file_sha256 must be a SHA-256 (64 hex digits)`);
  const pid = optionalCount(process, 'pid', at);
  const text = (key: string, max: number) => {
    const value = optionalString(process, key, at, max);
    return value ? { [key]: value } : {};
  };
  return {
    file_path: optionalString(process, 'file_path', at, 4096) ?? '',
    ...(sha ? { file_sha256: sha.toLowerCase() } : {}),
    ...text('signing_id', 512),
    ...text('team_id', 64),
    ...text('cdhash', 64),
    ...(pid !== undefined ? { pid } : {}),
  };
}

function eventOf(item: unknown, index: number): IncomingFileAccessEvent {
  const at = `eventupload: file_access_events[${index}]`;
  const event = normalizeKeys(item, at);
  const time = event.access_time;
  if (time !== undefined && (typeof time !== 'number' || !Number.isFinite(time) || time < 0))
    throw new SantaRequestError(`${at}: access_time must be a number of seconds`);
  const chain = event.process_chain ?? [];
  if (!Array.isArray(chain))
    throw new SantaRequestError(`${at}: process_chain must be a list of processes`);
  return {
    rule_name: optionalString(event, 'rule_name', at, 256) ?? '',
    rule_version: optionalString(event, 'rule_version', at, 256) ?? '',
    target: optionalString(event, 'target', at, 4096) ?? '',
    decision: decisionOf(event.decision, at),
    access_time: (time as number | undefined) ?? Date.now() / 1000,
    process_chain: chain
      .slice(0, MAX_CHAIN)
      .map((process, n) => processOf(process, `${at}: process_chain[${n}]`)),
  };
}

/** The body's file access events (none when it has no such key). */
export function fileAccessEventsOf(body: Record<string, unknown>): IncomingFileAccessEvent[] {
  const raw = body.file_access_events ?? [];
  if (!Array.isArray(raw))
    throw new SantaRequestError('eventupload: file_access_events must be a list');
  if (raw.length > MAX_FILE_ACCESS_EVENTS)
    throw new SantaRequestError(
      `eventupload: at most ${MAX_FILE_ACCESS_EVENTS} file_access_events per request (Santa sends batch_size at a time)`,
    );
  return raw.map(eventOf);
}
