// Santa's preflight: the agent says what it is and what it holds; the server answers with the
// kind of sync to run and the settings to apply once the sync has succeeded.
import { hostname, release } from 'node:os';
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
  readonly fullSyncIntervalS: number;
  /** Santa's switches the agent has a counterpart for, when the server sent them. */
  readonly enableTransitiveRules?: boolean;
  readonly enableAllEventUpload?: boolean;
  /** Settings the server sent that this agent does not act on (see NOT_APPLIED), by name. */
  readonly ignored?: readonly string[];
}

/**
 * Preflight settings a Santa server may send that the Linux agent leaves alone, and why: its path
 * scopes are prefixes from its own configuration (AllowedPathPrefixes), not ICU regexes; bundles,
 * USB mounts and file access authorization are macOS features; the event detail URL and text are
 * the menu-bar app's, read from the configuration file; STANDALONE has no Linux counterpart.
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
  'event_detail_url',
  'event_detail_text',
] as const;

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
  return {
    syncType: syncType(answer),
    batchSize:
      typeof answer.batch_size === 'number' && answer.batch_size > 0 ? answer.batch_size : 50,
    // Santa's floor: a server cannot make its clients sync more than once a minute.
    fullSyncIntervalS: typeof interval === 'number' ? Math.max(60, interval) : 600,
    ...settingsOf(answer),
  };
}

/** The mode and switches the agent acts on, and the names of the settings it does not. */
function settingsOf(answer: Record<string, unknown>) {
  const mode = answer.client_mode;
  const flag = (key: string) => (typeof answer[key] === 'boolean' ? answer[key] : undefined);
  // Santa's deprecated spelling counts only when the current one is absent.
  const transitive = flag('enable_transitive_rules') ?? flag('enabled_transitive_whitelisting');
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
