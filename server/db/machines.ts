// Machines: enrollment with a per-machine token (only its SHA-256 is stored), and the state of
// each machine's sync.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { sql } from 'kysely';
import { audit } from './audit';
import type { Db } from './connect';
import { prepared } from './prepared';
import type { MachinesTable } from './schema';
import { containsText, pageOf, type Page, type PageOf } from './search';

/** What the console shows of a machine: its facts, never its token or sync bookkeeping. */
export type MachineSummary = Pick<
  MachinesTable,
  | 'machine_id'
  | 'serial_num'
  | 'hostname'
  | 'os_version'
  | 'os_build'
  | 'model_identifier'
  | 'agent_version'
  | 'primary_user'
  | 'client_mode'
  | 'rule_counts'
  | 'enrolled_at'
  | 'last_sync_at'
  | 'tags'
  | 'clean_requested'
  | 'clean_all_requested'
>;

const SUMMARY_COLUMNS = [
  'machine_id',
  'serial_num',
  'hostname',
  'os_version',
  'os_build',
  'model_identifier',
  'agent_version',
  'primary_user',
  'client_mode',
  'rule_counts',
  'enrolled_at',
  'last_sync_at',
  'tags',
  'clean_requested',
  'clean_all_requested',
] as const;

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** What every new machine starts with, however it enrolls: no rules yet, a clean sync owed. */
export const newMachine = (now: number) => ({
  enrolled_at: now,
  rule_counts: '{}',
  acked_version: 0,
  clean_requested: 1,
  clean_all_requested: 0,
});

export interface MachineFacts {
  serial_num?: string | undefined;
  hostname?: string | undefined;
  os_version?: string | undefined;
  os_build?: string | undefined;
  model_identifier?: string | undefined;
  agent_version?: string | undefined;
  primary_user?: string | undefined;
  tags?: string[] | undefined;
}

/** An update of some columns of one machine (MachineRepository.update), compiled once. */
type CompiledUpdate = (values: Record<string, unknown> & { $machine: string }) => Promise<unknown>;

/** The shapes of update a process keeps compiled (there are a handful in the code). */
const MAX_UPDATE_SHAPES = 64;

export class MachineRepository {
  /** Every request of a machine reads its row (plugins/machine-auth.ts): compiled once. */
  readonly #byId: (values: { machine_id: string }) => Promise<MachinesTable[]>;
  /** Updates by the columns they set: each sync's preflight and postflight are among them. */
  readonly #updates = new Map<string, CompiledUpdate>();

  constructor(private readonly db: Db) {
    this.#byId = prepared(db, (v: { machine_id: string }) =>
      db.selectFrom('machines').selectAll().where('machine_id', '=', v.machine_id),
    );
  }

  /** Enrolls (or re-enrolls) a machine; returns its new token, shown only this once. */
  async enroll(machineId: string, facts: MachineFacts, now = Date.now()): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    const { tags, ...rest } = facts;
    const row = { token_hash: hashToken(token), ...rest, tags: JSON.stringify(tags ?? []) };
    await this.db
      .insertInto('machines')
      .values({
        machine_id: machineId,
        ...newMachine(now),
        identity: 'agent',
        claimed_tags: '[]',
        ...row,
      })
      .onConflict((conflict) =>
        conflict.column('machine_id').doUpdateSet({ ...row, clean_requested: 1, acked_version: 0 }),
      )
      .execute();
    return token;
  }

  /** The machine whose token this is, if the token is valid for that machine id. */
  async authenticate(machineId: string, token: string): Promise<MachinesTable | undefined> {
    const machine = await this.get(machineId);
    if (!machine) return undefined;
    const given = Buffer.from(hashToken(token), 'hex');
    const stored = Buffer.from(machine.token_hash, 'hex');
    return given.length === stored.length && timingSafeEqual(given, stored) ? machine : undefined;
  }

  /** The machine a token was issued to, for routes that do not name one (a scan: no index). */
  async byToken(token: string): Promise<MachinesTable | undefined> {
    return this.db
      .selectFrom('machines')
      .selectAll()
      .where('token_hash', '=', hashToken(token))
      .executeTakeFirst();
  }

  async get(machineId: string): Promise<MachinesTable | undefined> {
    return (await this.#byId({ machine_id: machineId }))[0];
  }

  /** Sets these columns of a machine (undefined ones are left as they are). */
  async update(machineId: string, values: Partial<MachinesTable>): Promise<void> {
    // One pass over the values: this runs at every preflight and postflight.
    const set: Record<string, unknown> & { $machine: string } = { $machine: machineId };
    const columns: (keyof MachinesTable)[] = [];
    for (const [column, value] of Object.entries(values) as [keyof MachinesTable, unknown][]) {
      if (value === undefined) continue;
      set[column] = value;
      columns.push(column);
    }
    if (columns.length === 0) return;
    const shape = columns.join(' ');
    let run = this.#updates.get(shape);
    if (!run) {
      run = this.#updateOf(columns);
      if (this.#updates.size >= MAX_UPDATE_SHAPES)
        this.#updates.delete(this.#updates.keys().next().value!);
      this.#updates.set(shape, run);
    }
    await run(set);
  }

  /** An update of these columns, compiled at its first run. */
  #updateOf(columns: readonly (keyof MachinesTable)[]): CompiledUpdate {
    // The machine's id goes by a name no column has, so that it cannot meet a value to set.
    return prepared(this.db, (v: Record<string, unknown> & { $machine: string }) =>
      this.db
        .updateTable('machines')
        .set(Object.fromEntries(columns.map((column) => [column, v[column]])))
        .where('machine_id', '=', v.$machine),
    );
  }

  /**
   * Orders a clean sync at the machine's next preflight, audited in the same transaction with who
   * ordered it (a console user, or `machine:ID` when its preflight found it owed one) and why.
   * `all`: Santa's CLEAN_ALL, which also drops the rules the machine made itself (transitive
   * rules); an order for it stands until a sync completes, whatever else is ordered meanwhile.
   * False when there is no such machine.
   */
  async orderCleanSync(
    machineId: string,
    by: { actor: string; reason: string; all?: boolean; details?: Record<string, unknown> },
    now = Date.now(),
  ): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const updated = await trx
        .updateTable('machines')
        .set({ clean_requested: 1, ...(by.all ? { clean_all_requested: 1 } : {}) })
        .where('machine_id', '=', machineId)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) return false;
      await audit(
        trx,
        {
          actor: by.actor,
          action: 'machine.clean-sync',
          target: `machine:${machineId}`,
          details: { reason: by.reason, ...(by.all ? { all: true } : {}), ...by.details },
        },
        now,
      );
      return true;
    });
  }

  /** Audits what a machine's sync brought about that no one ordered (a membership change). */
  async auditSync(
    machineId: string,
    actor: string,
    action: string,
    details: Record<string, unknown>,
    now = Date.now(),
  ): Promise<void> {
    await audit(this.db, { actor, action, target: `machine:${machineId}`, details }, now);
  }

  /** Machines whose id, hostname, serial, primary user or tags contain `text`, by hostname. */
  async search(text: string | undefined, page: Page): Promise<PageOf<MachineSummary>> {
    const base = this.db
      .selectFrom('machines')
      .$if(Boolean(text), (q) =>
        q.where((eb) =>
          eb.or(
            ['machine_id', 'hostname', 'serial_num', 'primary_user', 'tags'].map((column) =>
              containsText(column, text!),
            ),
          ),
        ),
      );
    return pageOf(base, page, (q) =>
      q
        .select(SUMMARY_COLUMNS)
        .orderBy(sql`coalesce(hostname, machine_id)`)
        .orderBy('machine_id'),
    );
  }

  async summary(machineId: string): Promise<MachineSummary | undefined> {
    return this.db
      .selectFrom('machines')
      .select(SUMMARY_COLUMNS)
      .where('machine_id', '=', machineId)
      .executeTakeFirst();
  }
}
