// Santa's preflight: the agent says what it is and what it holds; the server answers with the
// kind of sync to run and the settings to apply once the sync has succeeded.
import { hostname, release } from 'node:os';
import { text, url } from '../../../../common/config-types';
import { normalizeKeys } from '../../../../common/santa';
import type { ClientMode } from '../../../../common/rules';
import { PRODUCT_VERSION } from '../../../../common/version';
import type { StageContext } from './stage';

export type SyncType = 'NORMAL' | 'CLEAN' | 'CLEAN_ALL';

export interface PreflightAnswer {
  readonly syncType: SyncType;
  /** Events per eventupload request. */
  readonly batchSize: number;
  /** Applied only after postflight, as Santa does, so that a failed sync changes nothing. */
  readonly clientMode?: ClientMode;
  /**
   * Only when the server sent one (above 0), never under Santa's floor of a minute; else the
   * interval the server set before stays (Santa's persisted one, or its default of 10 minutes).
   */
  readonly fullSyncIntervalS?: number;
  /** Santa's switches the agent has a counterpart for, when the server sent them. */
  readonly enableTransitiveRules?: boolean;
  readonly enableAllEventUpload?: boolean;
  /**
   * The block dialog's Open button, when the server sent it: a URL template ('null' when the
   * server said there is none, as an empty value says in Santa) and its label.
   */
  readonly eventDetailUrl?: string;
  readonly eventDetailText?: string;
  /** Settings the server sent that this agent does not act on (see NOT_APPLIED), by name. */
  readonly ignored?: readonly string[];
  /** Values the agent refused, each saying which and why; the rest of the sync goes on. */
  readonly refused?: readonly string[];
}

/**
 * Preflight settings a Santa server may send that the Linux agent leaves alone, and why: its path
 * scopes are prefixes from its own configuration (AllowedPathPrefixes), not ICU regexes; bundles,
 * USB mounts and file access authorization are macOS features; the agent keeps every unknown
 * execution it sees whatever disable_unknown_event_upload says (the helpdesk needs them to
 * approve); STANDALONE has no Linux counterpart.
 */
const NOT_APPLIED = [
  'allowed_path_regex',
  'blocked_path_regex',
  'enable_bundles',
  'block_usb_mount',
  'remount_usb_mode',
  'removable_media_policy',
  'encrypted_removable_media_policy',
  'override_file_access_action',
  'disable_unknown_event_upload',
] as const;

/** The Open button's URL: https, or http to this machine only; Santa's placeholders allowed. */
const DETAIL_URL = url({ localHttp: true, placeholders: true });
/** Its label, as long as the configuration key's. */
const DETAIL_TEXT = text(64);

export async function preflight(
  { agent, transport }: StageContext,
  cleanRequested: boolean,
): Promise<PreflightAnswer> {
  const counts = agent.rules.syncedCounts();
  const answer = normalizeKeys(
    await transport.stage('preflight', {
      serial_num: agent.config.machineId,
      hostname: hostname(),
      os_version: release(),
      santa_version: PRODUCT_VERSION,
      ...(agent.config.machineOwner ? { primary_user: agent.config.machineOwner } : {}),
      client_mode: agent.mode,
      request_clean_sync: cleanRequested,
      binary_rule_count: counts.binary,
      certificate_rule_count: counts.certificate,
      compiler_rule_count: counts.compiler,
      teamid_rule_count: counts.teamid,
      signingid_rule_count: counts.signingid,
      cdhash_rule_count: counts.cdhash,
      machine_id: transport.machineId,
      rules_hash: agent.rules.rulesHash(),
    }),
    'preflight response',
  );
  const interval = answer.full_sync_interval ?? answer.full_sync_interval_seconds;
  const detail = eventDetailOf(answer);
  const refused = detail.refused;
  return {
    syncType: syncType(answer),
    batchSize:
      typeof answer.batch_size === 'number' && answer.batch_size > 0 ? answer.batch_size : 50,
    // Santa: a value the server did not set (0) changes nothing; a server cannot make its clients
    // sync more than once a minute (kMinimumFullSyncInterval).
    ...(typeof interval === 'number' && interval > 0
      ? { fullSyncIntervalS: Math.max(60, Math.floor(interval)) }
      : {}),
    ...settingsOf(answer),
    ...detail.values,
    ...(refused.length > 0 ? { refused } : {}),
  };
}

/**
 * Santa's event_detail_url and event_detail_text, which win over the configuration's once sent.
 * An empty or "null" URL hides the Open button, as it does in Santa. A value the agent will not
 * open (not https, nor http to this machine; too long) is refused and the earlier one stays.
 */
function eventDetailOf(answer: Record<string, unknown>): {
  values: { eventDetailUrl?: string; eventDetailText?: string };
  refused: string[];
} {
  const values: { eventDetailUrl?: string; eventDetailText?: string } = {};
  const refused: string[] = [];
  const link = answer.event_detail_url;
  if (link === '' || link === 'null') values.eventDetailUrl = 'null';
  else if (link !== undefined && link !== null) {
    const checked = DETAIL_URL.check(link);
    if (checked.ok && checked.value) values.eventDetailUrl = checked.value;
    else refused.push(`event_detail_url must be ${DETAIL_URL.allowed} of at most 4096 characters`);
  }
  const label = answer.event_detail_text;
  if (label !== undefined && label !== null && label !== '') {
    const checked = DETAIL_TEXT.check(label);
    if (checked.ok) values.eventDetailText = checked.value;
    else refused.push(`event_detail_text must be ${DETAIL_TEXT.allowed}`);
  }
  return { values, refused };
}

/** The mode and switches the agent acts on, and the names of the settings it does not. */
function settingsOf(answer: Record<string, unknown>) {
  const mode = answer.client_mode;
  const flag = (key: string) => (typeof answer[key] === 'boolean' ? answer[key] : undefined);
  // Santa's deprecated spellings count only when the current one is absent.
  const transitive =
    flag('enable_transitive_rules') ??
    flag('enabled_transitive_whitelisting') ??
    flag('transitive_whitelisting_enabled');
  const allEvents = flag('enable_all_event_upload');
  const ignored: string[] = NOT_APPLIED.filter(
    (key) => answer[key] !== undefined && answer[key] !== null,
  );
  if (mode === 'STANDALONE') ignored.push('client_mode STANDALONE');
  return {
    ...(mode === 'MONITOR' || mode === 'LOCKDOWN' ? { clientMode: mode as ClientMode } : {}),
    ...(transitive !== undefined ? { enableTransitiveRules: transitive } : {}),
    ...(allEvents !== undefined ? { enableAllEventUpload: allEvents } : {}),
    ...(ignored.length > 0 ? { ignored } : {}),
  };
}

function syncType(answer: Record<string, unknown>): SyncType {
  const type = typeof answer.sync_type === 'string' ? answer.sync_type.toUpperCase() : undefined;
  if (type === 'CLEAN' || type === 'CLEAN_ALL') return type;
  // The deprecated clean_sync counts only when the server did not send sync_type.
  if (type === undefined && answer.clean_sync === true) return 'CLEAN';
  return 'NORMAL';
}
