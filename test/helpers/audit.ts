// The audit log as tests read it.
import type { Db } from '../../server/db/connect';

/** The actions audited against one machine, oldest first. */
export async function auditedActions(db: Db, machineId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('audit_log')
    .select('action')
    .where('target', '=', `machine:${machineId}`)
    .orderBy('id')
    .execute();
  return rows.map((row) => row.action);
}
