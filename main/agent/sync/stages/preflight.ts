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
}

export async function preflight(
  { agent, transport }: StageContext,
  cleanRequested: boolean,
): Promise<PreflightAnswer> {
  const counts = agent.rules.counts();
  const answer = normalizeKeys(
    await transport.stage('preflight', {
      serial_num: agent.config.machineId,
      hostname: hostname(),
      os_version: release(),
      santa_version: PRODUCT_VERSION,
      ...(agent.config.machineOwner ? { primary_user: agent.config.machineOwner } : {}),
      client_mode: agent.mode,
      request_clean_sync: cleanRequested,
      binary_rule_count: counts.BINARY,
      certificate_rule_count: counts.CERTIFICATE,
      teamid_rule_count: counts.TEAMID,
      signingid_rule_count: counts.SIGNINGID,
      cdhash_rule_count: counts.CDHASH,
      machine_id: transport.machineId,
      rules_hash: agent.rules.rulesHash(),
    }),
    'preflight response',
  );
  const clientMode =
    answer.client_mode === 'MONITOR' || answer.client_mode === 'LOCKDOWN'
      ? answer.client_mode
      : undefined;
  const interval = answer.full_sync_interval ?? answer.full_sync_interval_seconds;
  return {
    syncType: syncType(answer),
    batchSize:
      typeof answer.batch_size === 'number' && answer.batch_size > 0 ? answer.batch_size : 50,
    ...(clientMode ? { clientMode } : {}),
    // Santa's floor: a server cannot make its clients sync more than once a minute.
    fullSyncIntervalS: typeof interval === 'number' ? Math.max(60, interval) : 600,
  };
}

function syncType(answer: Record<string, unknown>): SyncType {
  const type = typeof answer.sync_type === 'string' ? answer.sync_type.toUpperCase() : undefined;
  if (type === 'CLEAN' || type === 'CLEAN_ALL') return type;
  // The deprecated clean_sync counts only when the server did not send sync_type.
  if (type === undefined && answer.clean_sync === true) return 'CLEAN';
  return 'NORMAL';
}
