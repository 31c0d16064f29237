// The audit log: every change (request, rule, decision, enrollment) appended in the same
// transaction as the change itself. Nothing in the backend updates or deletes a row of it.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema';

export async function audit(
  db: Kysely<Database> | Transaction<Database>,
  entry: { actor: string; action: string; target: string; details?: Record<string, unknown> },
  now = Date.now(),
): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      at: now,
      actor: entry.actor,
      action: entry.action,
      target: entry.target,
      details: JSON.stringify(entry.details ?? {}),
    })
    .execute();
}
