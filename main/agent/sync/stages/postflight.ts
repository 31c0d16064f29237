// Santa's postflight: the server hears what the agent applied and the rules hash it now holds.
// Its 200 is what makes the sync count (the caller applies preflight's settings only then).
import type { SyncType } from './preflight';
import type { DownloadedRules } from './rule-download';
import type { StageContext } from './stage';

export async function postflight(
  { agent, transport }: StageContext,
  syncType: SyncType,
  rules: DownloadedRules,
): Promise<void> {
  await transport.stage('postflight', {
    machine_id: transport.machineId,
    rules_received: rules.received,
    rules_processed: rules.processed,
    sync_type: syncType,
    rules_hash: agent.rules.rulesHash(),
  });
}
