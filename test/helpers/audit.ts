// The audit log as tests read it.
import type { Db } from '../../server/db/connect';

export interface AuditEntry {
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  /** The entry's details, parsed. */
  readonly details: Record<string, unknown>;
}

/** The audit log's entries that match every field given, oldest first. */
export async function auditEntries(
  db: Db,
  match: { actor?: string; action?: string; target?: string } = {},
): Promise<AuditEntry[]> {
  let query = db.selectFrom('audit_log').select(['actor', 'action', 'target', 'details']);
  for (const [column, value] of Object.entries(match) as [keyof typeof match, string?][])
    if (value !== undefined) query = query.where(column, '=', value);
  const rows = await query.orderBy('id').execute();
  return rows.map((row) => ({
    ...row,
    details: JSON.parse(row.details) as Record<string, unknown>,
  }));
}

/** The actions audited against one machine, oldest first. */
export async function auditedActions(db: Db, machineId: string): Promise<string[]> {
  const entries = await auditEntries(db, { target: `machine:${machineId}` });
  return entries.map((entry) => entry.action);
}
