// Posture check results from machines: each delivery replaces the machine's previous results.
// The console reads them per machine, and across the fleet per check and status.
import type { PostureResult, PostureStatus } from '../../common/posture';
import type { Db } from './connect';
import { countOf, withNumbers } from './rows';

export interface CheckSummary {
  readonly id: string;
  readonly title: string;
  readonly pass: number;
  readonly fail: number;
  readonly unknown: number;
}

export interface FleetPosture {
  readonly checks: CheckSummary[];
  /** Machines that have delivered posture results, and machines enrolled. */
  readonly machinesReporting: number;
  readonly machinesEnrolled: number;
}

export interface MachineCheckResult {
  readonly machine_id: string;
  readonly hostname: string | null;
  readonly primary_user: string | null;
  readonly evidence: string;
  readonly checked_at: number;
  readonly received_at: number;
}

export interface MachinePosture {
  readonly results: PostureResult[];
  /** When the backend received them; null when the machine never sent any. */
  readonly receivedAt: number | null;
}

export const MACHINE_LIST_LIMIT = 500;

export class PostureRepository {
  constructor(private readonly db: Db) {}

  async replace(
    machineId: string,
    results: readonly PostureResult[],
    now = Date.now(),
  ): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('machine_posture').where('machine_id', '=', machineId).execute();
      if (results.length === 0) return;
      await trx
        .insertInto('machine_posture')
        .values(
          results.map((result, position) => ({
            machine_id: machineId,
            check_id: result.id,
            position,
            title: result.title,
            status: result.status,
            evidence: result.evidence,
            remediation: result.remediation,
            checked_at: Math.round(result.checkedAt),
            received_at: now,
          })),
        )
        .execute();
    });
  }

  async forMachine(machineId: string): Promise<MachinePosture> {
    const rows = await this.db
      .selectFrom('machine_posture')
      .selectAll()
      .where('machine_id', '=', machineId)
      .orderBy('position')
      .execute();
    return {
      results: rows.map((row) => ({
        id: row.check_id,
        title: row.title,
        status: row.status as PostureStatus,
        evidence: row.evidence,
        remediation: row.remediation,
        checkedAt: Number(row.checked_at),
      })),
      receivedAt: rows.length > 0 ? Number(rows[0]!.received_at) : null,
    };
  }

  /** Per check: how many machines pass, fail and cannot tell. */
  async fleet(): Promise<FleetPosture> {
    const [rows, reporting, enrolled] = await Promise.all([
      this.db
        .selectFrom('machine_posture')
        .select((eb) => [
          'check_id',
          'status',
          eb.fn.max('title').as('title'),
          eb.fn.min('position').as('position'),
          eb.fn.countAll().as('machines'),
        ])
        .groupBy(['check_id', 'status'])
        .execute(),
      this.db
        .selectFrom('machine_posture')
        .select((eb) => eb.fn.count('machine_id').distinct().as('n'))
        .executeTakeFirst(),
      countOf(this.db.selectFrom('machines')),
    ]);
    const checks = new Map<string, CheckSummary & { position: number }>();
    for (const row of rows) {
      const entry = checks.get(row.check_id) ?? {
        id: row.check_id,
        title: row.title,
        pass: 0,
        fail: 0,
        unknown: 0,
        position: Number(row.position),
      };
      const status = row.status as PostureStatus;
      checks.set(row.check_id, {
        ...entry,
        position: Math.min(entry.position, Number(row.position)),
        [status]: entry[status] + Number(row.machines),
      });
    }
    return {
      checks: [...checks.values()]
        .sort((a, b) => a.position - b.position || a.id.localeCompare(b.id))
        .map(({ position: _position, ...check }) => check),
      machinesReporting: Number(reporting?.n ?? 0),
      machinesEnrolled: enrolled,
    };
  }

  /** The machines whose result for a check has this status, by host name. */
  async machines(checkId: string, status: PostureStatus): Promise<MachineCheckResult[]> {
    const rows = await this.db
      .selectFrom('machine_posture as p')
      .leftJoin('machines as m', 'm.machine_id', 'p.machine_id')
      .select([
        'p.machine_id',
        'm.hostname',
        'm.primary_user',
        'p.evidence',
        'p.checked_at',
        'p.received_at',
      ])
      .where('p.check_id', '=', checkId)
      .where('p.status', '=', status)
      .orderBy('m.hostname')
      .orderBy('p.machine_id')
      .limit(MACHINE_LIST_LIMIT)
      .execute();
    return rows.map((row) => withNumbers(row, 'checked_at', 'received_at'));
  }
}
