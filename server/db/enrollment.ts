// Machine identity: what each machine id is bound to, and the conflicts an admin decides when
// something else claims it. The fleet secret alone never takes an id over: a Gatehouse agent
// proves a re-enrollment with its enrollment key, a stock Santa client with the serial (and
// client certificate) it first came with; any other claim is refused and waits as a conflict.
// Every enrollment, rebinding and decision is audited in the transaction that makes it.
import { createHash, randomBytes } from 'node:crypto';
import { sql, type ExpressionBuilder, type Transaction } from 'kysely';
import { audit } from './audit';
import type { Db } from './connect';
import { hashToken, newMachine, type MachineFacts } from './machines';
import { LimitError } from './limits';
import { RequestError } from './requests';
import type { Database, EnrollmentConflictsTable, MachinesTable } from './schema';
import { countOf, lockRows, rowBy } from './rows';
import { pageOf, type Page, type PageOf } from './search';
import type { PushHub } from '../push';
import type { Insertable, Selectable } from 'kysely';

/** Pending conflicts kept per machine id and in all, so that claims cannot grow the table. */
export const PENDING_PER_MACHINE = 10;
export const PENDING_IN_ALL = 1000;
/** Machines a server holds unless GATEHOUSE_MAX_MACHINES says otherwise. */
export const DEFAULT_MAX_MACHINES = 50_000;
/** An advisory lock key (PostgreSQL) that new machines are counted under, one at a time. */
const NEW_MACHINE_LOCK = 0x6761_7465;
/** A full server stays full until an administrator acts: ask again in an hour. */
const MACHINE_CAP_RETRY_S = 3600;

export const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

export interface Certificate {
  /** SHA-256 of the DER encoding, lower-case hex. */
  readonly fingerprint: string;
  readonly subject: string;
}

/** Who is asking for a machine id, and what it says about itself. */
export interface Claimant {
  readonly machineId: string;
  readonly address: string;
  readonly serial?: string | undefined;
  readonly cert?: Certificate | undefined;
  /** SHA-256 of the agent's enrollment key. */
  readonly keyHash?: string | undefined;
  /** SHA-256 of the sync token (Santa's XSRF token) a stock client's request carried. */
  readonly syncTokenHash?: string | undefined;
  /** Hostname, primary user, tags and the like, as the machine claims them: shown, not applied. */
  readonly claims: Record<string, unknown>;
}

export type ConflictKind = 'agent-reenroll' | 'fleet-mismatch' | 'agent-id';

export interface ConflictRef {
  readonly id: number | null;
  readonly state: string;
  readonly reason: string;
}

export type AgentEnrollment =
  { readonly token: string; readonly reenrolled: boolean } | { readonly conflict: ConflictRef };

export type FleetAdmission =
  | { readonly machine: MachinesTable }
  | { readonly conflict: ConflictRef }
  | { readonly refused: string };

const CONFLICT_COLUMNS = [
  'id',
  'machine_id',
  'kind',
  'state',
  'reason',
  'claimed_serial',
  'claimed_cert',
  'claimed_cert_subject',
  'claims',
  'address',
  'attempts',
  'created_at',
  'last_seen_at',
  'decided_by',
  'decided_at',
] as const;

/** A conflict as the console lists it (never the claimant's key hash), and its machine's binding. */
export type ConflictRow = Omit<EnrollmentConflictsTable, 'id' | 'claim_key_hash'> & {
  id: number;
  bound_identity: string | null;
  bound_serial: string | null;
  bound_cert_subject: string | null;
  bound_hostname: string | null;
};

type Tx = Transaction<Database>;

const sameAs =
  (column: 'claimed_serial' | 'claimed_cert' | 'claim_key_hash', value: string | null) =>
  (eb: ExpressionBuilder<Database, 'enrollment_conflicts'>) =>
    value === null ? eb(column, 'is', null) : eb(column, '=', value);

export class EnrollmentRepository {
  constructor(
    private readonly db: Db,
    private readonly push: PushHub,
    /** New machine ids past this many machines are refused (GATEHOUSE_MAX_MACHINES). */
    private readonly maxMachines = DEFAULT_MAX_MACHINES,
  ) {}

  /** Runs a change that may create a machine; a refusal by the machine cap is audited. */
  private async underCap<T>(claimant: Claimant, change: () => Promise<T>): Promise<T> {
    try {
      return await change();
    } catch (error) {
      if (error instanceof LimitError && error.limit === 'machines')
        await this.refused(claimant, error.message);
      throw error;
    }
  }

  /** A Gatehouse agent's enrollment: a new id, or a re-enrollment it can prove. */
  async enrollAgent(claimant: Claimant, facts: MachineFacts, now = Date.now()) {
    const enroll = () =>
      this.db.transaction().execute(async (trx): Promise<AgentEnrollment> => {
        const machine = await lockMachine(trx, claimant.machineId);
        if (!machine) {
          await withinMachineCap(trx, this.maxMachines);
          return { token: await createAgent(trx, claimant, facts, now), reenrolled: false };
        }
        const proof = await agentProof(trx, machine, claimant);
        if (proof === 'rejected') return { conflict: rejected(claimant) };
        if (!proof) {
          const reason =
            machine.identity === 'agent'
              ? `machine id ${machine.machine_id} is enrolled already and the caller cannot prove it is the same installation; its token stays valid until an administrator approves the re-enrollment`
              : `machine id ${machine.machine_id} is a Santa client bound to its serial or certificate; an administrator must approve handing it to an agent`;
          return { conflict: await recordConflict(trx, claimant, 'agent-reenroll', reason, now) };
        }
        const token = randomBytes(32).toString('base64url');
        await trx
          .updateTable('machines')
          .set({
            token_hash: hashToken(token),
            identity: 'agent',
            enroll_key_hash: claimant.keyHash ?? null,
            claimed_tags: JSON.stringify(facts.tags ?? []),
            ...factsOf(facts),
          })
          .where('machine_id', '=', machine.machine_id)
          .execute();
        if (typeof proof === 'number')
          await trx
            .updateTable('enrollment_conflicts')
            .set({ state: 'used', last_seen_at: now })
            .where('id', '=', proof)
            .execute();
        await auditSelf(
          trx,
          machine.machine_id,
          'machine.reenroll',
          {
            proof: proof === true ? 'enrollment key' : `conflict ${proof} approved`,
            address: claimant.address,
          },
          now,
        );
        return { token, reenrolled: true };
      });
    return this.underCap(claimant, enroll);
  }

  /**
   * A stock Santa client on the fleet credential (or an accepted client certificate): its first
   * preflight creates the machine, bound to its serial and certificate; later requests must
   * match them. `serial` is only known at preflight.
   */
  async admitFleet(claimant: Claimant, preflight: boolean, now = Date.now()) {
    const admit = () =>
      this.db.transaction().execute(async (trx): Promise<FleetAdmission> => {
        const machine = await lockMachine(trx, claimant.machineId);
        if (!machine) return firstContact(trx, claimant, preflight, this.maxMachines, now);
        const mismatch = fleetMismatch(machine, claimant, preflight);
        if (mismatch) {
          const kind = machine.identity === 'agent' ? 'agent-id' : 'fleet-mismatch';
          if (await isRejected(trx, claimant, kind)) return { conflict: rejected(claimant) };
          return { conflict: await recordConflict(trx, claimant, kind, mismatch, now) };
        }
        if (!preflight) {
          const outside = outsideSyncSession(machine, claimant);
          return outside ? { refused: outside } : { machine };
        }
        const binding = {
          bound_serial: machine.bound_serial ?? claimant.serial ?? null,
          cert_fingerprint: machine.cert_fingerprint ?? claimant.cert?.fingerprint ?? null,
          cert_subject: machine.cert_subject ?? claimant.cert?.subject ?? null,
          sync_address: claimant.address,
          // This preflight passed the serial (and certificate) check: its token is the session's.
          sync_token_hash: claimant.syncTokenHash ?? null,
        };
        if (binding.cert_fingerprint !== machine.cert_fingerprint) {
          const owner = await certOwner(trx, binding.cert_fingerprint);
          if (owner) return { refused: certTaken(owner) };
        }
        await trx
          .updateTable('machines')
          .set(binding)
          .where('machine_id', '=', machine.machine_id)
          .execute();
        return { machine: { ...machine, ...binding } };
      });
    return this.underCap(claimant, admit);
  }

  /** Conflicts newest first, each with what its machine id is bound to now. */
  async conflicts(state: string | undefined, page: Page): Promise<PageOf<ConflictRow>> {
    const base = this.db
      .selectFrom('enrollment_conflicts as c')
      .$if(state !== undefined, (q) => q.where('c.state', '=', state!));
    return pageOf(base, page, (q) =>
      q
        .leftJoin('machines as m', 'm.machine_id', 'c.machine_id')
        .select(CONFLICT_COLUMNS.map((column) => `c.${column}` as const))
        .select([
          'm.identity as bound_identity',
          'm.bound_serial',
          'm.cert_subject as bound_cert_subject',
          'm.hostname as bound_hostname',
        ])
        .orderBy('c.id', 'desc'),
    );
  }

  /** Machines that claim tags an admin has not put in force (at most `limit`). */
  async tagClaims(limit: number) {
    return this.db
      .selectFrom('machines')
      .select(['machine_id', 'hostname', 'tags', 'claimed_tags'])
      .where('claimed_tags', '<>', '[]')
      .whereRef('claimed_tags', '<>', 'tags')
      .orderBy('machine_id')
      .limit(limit)
      .execute();
  }

  /**
   * An admin's decision on a pending conflict. Approving a Santa client's claim rebinds the id to
   * it at once (any agent token for the id stops working); approving an agent's lets that agent's
   * next enrollment with the same key through. Rejecting keeps the binding; the claimant is told.
   */
  async decide(id: number, approve: boolean, actor: string, now = Date.now()): Promise<string> {
    return this.db.transaction().execute(async (trx) => {
      const conflict = await rowBy(trx, 'enrollment_conflicts', 'id', id, { lock: true });
      if (!conflict) throw new RequestError(404, `no enrollment conflict ${id}`);
      if (conflict.state !== 'pending')
        throw new RequestError(409, `enrollment conflict ${id} is ${conflict.state} already`);
      if (approve && conflict.kind !== 'agent-reenroll') await rebindFleet(trx, conflict);
      const state = approve
        ? conflict.kind === 'agent-reenroll'
          ? 'approved'
          : 'used'
        : 'rejected';
      await trx
        .updateTable('enrollment_conflicts')
        .set({ state, decided_by: actor, decided_at: now })
        .where('id', '=', id)
        .execute();
      await audit(
        trx,
        {
          actor,
          action: approve ? 'enroll.conflict.approve' : 'enroll.conflict.reject',
          target: `machine:${conflict.machine_id}`,
          details: {
            conflict: id,
            kind: conflict.kind,
            serial: conflict.claimed_serial,
            certificate: conflict.claimed_cert,
            address: conflict.address,
          },
        },
        now,
      );
      return state;
    });
  }

  /** The tags in force on a machine: set by an admin, never by the machine's claim. */
  async setTags(machineId: string, tags: string[], actor: string, now = Date.now()) {
    await this.db.transaction().execute(async (trx) => {
      const machine = await lockMachine(trx, machineId);
      if (!machine) throw new RequestError(404, `no machine ${machineId}`);
      await trx
        .updateTable('machines')
        // Rules of its new tags may be older than what it acknowledged: a clean sync brings them.
        .set({ tags: JSON.stringify(tags), clean_requested: 1 })
        .where('machine_id', '=', machineId)
        .execute();
      await audit(
        trx,
        {
          actor,
          action: 'machine.tags',
          target: `machine:${machineId}`,
          details: { from: JSON.parse(machine.tags) as unknown, to: tags },
        },
        now,
      );
    });
    await this.push.publish({ kind: 'rules-changed', target: { machines: [machineId] } });
  }

  /**
   * An agent enrolled before it kept an enrollment key registers one with its token, once: the
   * key then proves its later re-enrollments. A registered key is never replaced this way.
   */
  async registerKey(machineId: string, keyHash: string, now = Date.now()) {
    return this.db.transaction().execute(async (trx): Promise<'registered' | 'same' | 'other'> => {
      const machine = await lockMachine(trx, machineId);
      if (machine?.enroll_key_hash) return machine.enroll_key_hash === keyHash ? 'same' : 'other';
      await trx
        .updateTable('machines')
        .set({ enroll_key_hash: keyHash })
        .where('machine_id', '=', machineId)
        .execute();
      await auditSelf(trx, machineId, 'machine.enrollment-key', {}, now);
      return 'registered';
    });
  }

  /** An audited refusal that leaves no conflict behind (a wrong secret, a throttled caller). */
  async refused(claimant: Pick<Claimant, 'machineId' | 'address'>, reason: string) {
    await audit(this.db, {
      actor: `address:${claimant.address}`,
      action: 'enroll.refuse',
      target: claimant.machineId ? `machine:${claimant.machineId}` : 'enrollment',
      details: { reason },
    });
  }
}

/** Audits what a machine did to its own record: `machine:ID` is who did it and what to. */
function auditSelf(
  trx: Tx,
  machineId: string,
  action: string,
  details: Record<string, unknown>,
  now: number,
): Promise<void> {
  const machine = `machine:${machineId}`;
  return audit(trx, { actor: machine, action, target: machine, details }, now);
}

function lockMachine(trx: Tx, machineId: string): Promise<MachinesTable | undefined> {
  return rowBy(trx, 'machines', 'machine_id', machineId, { lock: true });
}

/** Inserts a new machine; a parallel first contact for the same id is told to try again. */
async function insertMachine(trx: Tx, machine: Insertable<MachinesTable>): Promise<void> {
  const result = await trx
    .insertInto('machines')
    .values(machine)
    .onConflict((conflict) => conflict.column('machine_id').doNothing())
    .executeTakeFirst();
  if (Number(result.numInsertedOrUpdatedRows ?? 0) === 0)
    throw new RequestError(
      409,
      `machine id ${machine.machine_id} was enrolled by another request at this moment; try again`,
    );
}

async function certOwner(trx: Tx, fingerprint: string | null): Promise<string | undefined> {
  if (!fingerprint) return undefined;
  const row = await trx
    .selectFrom('machines')
    .select('machine_id')
    .where('cert_fingerprint', '=', fingerprint)
    .executeTakeFirst();
  return row?.machine_id;
}

const certTaken = (owner: string) =>
  `this client certificate is bound to machine ${owner}; each machine needs its own certificate`;

/** The facts a machine reports, without its tags: those it claims are kept apart. */
function factsOf(facts: MachineFacts): Omit<MachineFacts, 'tags'> {
  const rest = { ...facts };
  delete rest.tags;
  return rest;
}

async function createAgent(trx: Tx, claimant: Claimant, facts: MachineFacts, now: number) {
  const token = randomBytes(32).toString('base64url');
  await insertMachine(trx, {
    machine_id: claimant.machineId,
    token_hash: hashToken(token),
    ...newMachine(now),
    identity: 'agent',
    tags: '[]',
    claimed_tags: JSON.stringify(facts.tags ?? []),
    bound_serial: facts.serial_num ?? null,
    enroll_key_hash: claimant.keyHash ?? null,
    ...factsOf(facts),
  });
  await auditSelf(
    trx,
    claimant.machineId,
    'machine.enroll',
    { via: 'enrollment secret', address: claimant.address, claims: claimant.claims },
    now,
  );
  return token;
}

/**
 * How an agent proves a re-enrollment: true for its own enrollment key, a conflict's id when an
 * admin approved this key's claim, 'rejected' when an admin refused it, else undefined.
 */
async function agentProof(trx: Tx, machine: MachinesTable, claimant: Claimant) {
  if (!claimant.keyHash) return undefined;
  if (machine.identity === 'agent' && machine.enroll_key_hash === claimant.keyHash) return true;
  const decided = await trx
    .selectFrom('enrollment_conflicts')
    .select(['id', 'state'])
    .where('machine_id', '=', machine.machine_id)
    .where('kind', '=', 'agent-reenroll')
    .where('claim_key_hash', '=', claimant.keyHash)
    .where('state', 'in', ['approved', 'rejected'])
    .orderBy('id', 'desc')
    .executeTakeFirst();
  if (!decided) return undefined;
  return decided.state === 'approved' ? decided.id : ('rejected' as const);
}

async function firstContact(
  trx: Tx,
  claimant: Claimant,
  preflight: boolean,
  maxMachines: number,
  now: number,
): Promise<FleetAdmission> {
  if (!preflight)
    return { refused: `machine ${claimant.machineId} is not known here: run a preflight first` };
  if (!claimant.serial && !claimant.cert)
    return {
      refused:
        'a first preflight needs serial_num (or a client certificate) to bind this machine id to',
    };
  const owner = await certOwner(trx, claimant.cert?.fingerprint ?? null);
  if (owner) return { refused: certTaken(owner) };
  await withinMachineCap(trx, maxMachines);
  const machine = {
    machine_id: claimant.machineId,
    // No one holds a token for a Santa client: it authenticates with the fleet credential.
    token_hash: hashToken(randomBytes(32).toString('base64url')),
    ...newMachine(now),
    identity: 'fleet',
    tags: '[]',
    claimed_tags: '[]',
    bound_serial: claimant.serial ?? null,
    cert_fingerprint: claimant.cert?.fingerprint ?? null,
    cert_subject: claimant.cert?.subject ?? null,
    sync_address: claimant.address,
    sync_token_hash: claimant.syncTokenHash ?? null,
  };
  await insertMachine(trx, machine);
  await auditSelf(
    trx,
    claimant.machineId,
    'machine.enroll',
    {
      via: claimant.cert ? 'client certificate' : 'fleet credential',
      serial: claimant.serial ?? null,
      certificate: claimant.cert?.fingerprint ?? null,
      address: claimant.address,
      claims: claimant.claims,
    },
    now,
  );
  const created = await lockMachine(trx, claimant.machineId);
  return { machine: created! };
}

/** Why this fleet claim does not match the machine's binding, or undefined when it does. */
function fleetMismatch(machine: MachinesTable, claimant: Claimant, preflight: boolean) {
  if (machine.identity === 'agent')
    return `machine id ${machine.machine_id} belongs to an enrolled Gatehouse agent; the fleet credential cannot speak for it`;
  const cert = claimant.cert?.fingerprint;
  if (machine.cert_fingerprint && cert !== machine.cert_fingerprint)
    return cert
      ? `machine ${machine.machine_id} is bound to another client certificate`
      : `machine ${machine.machine_id} is bound to a client certificate and none was presented`;
  if (preflight && machine.bound_serial && claimant.serial !== machine.bound_serial)
    return `machine ${machine.machine_id} is bound to serial ${machine.bound_serial}, not ${claimant.serial ?? '(none sent)'}`;
  return undefined;
}

/**
 * Why a request between preflights is not part of the sync whose preflight passed the serial
 * check, or undefined when it is. Only preflight carries the serial, so the other stages are tied
 * to it by its address and by the sync token it carried (any other certificate proves nothing);
 * a bound certificate, checked on every request, speaks for the machine by itself. Refused, not
 * recorded as a conflict: there is no claim here for an administrator to approve.
 */
function outsideSyncSession(machine: MachinesTable, claimant: Claimant): string | undefined {
  if (machine.cert_fingerprint) return undefined;
  if (machine.sync_address !== claimant.address)
    return `machine ${machine.machine_id} last ran a preflight from another address: run a preflight first`;
  if (machine.sync_token_hash === null || machine.sync_token_hash !== claimant.syncTokenHash)
    return `this request is not part of a sync of machine ${machine.machine_id}: each stage after preflight must carry the sync token (X-XSRF-TOKEN) that the machine's own preflight was accepted with; run a preflight as this machine first`;
  return undefined;
}

/**
 * Refuses a new machine once the server holds `max` (a leaked fleet secret must not grow the
 * table without end). PostgreSQL: new machines are counted one transaction at a time.
 */
async function withinMachineCap(trx: Tx, max: number): Promise<void> {
  if (lockRows(trx)) await sql`select pg_advisory_xact_lock(${NEW_MACHINE_LOCK})`.execute(trx);
  if ((await countOf(trx.selectFrom('machines'))) >= max)
    throw new LimitError(
      'machines',
      MACHINE_CAP_RETRY_S,
      `this server holds ${max} machines, its most (GATEHOUSE_MAX_MACHINES): an administrator must raise that or remove machines before another one can enroll`,
    );
}

/** The conflicts in this state for the same claim: machine id, kind, serial and certificate. */
const sameClaim = (trx: Tx, claimant: Claimant, kind: ConflictKind, state: string) =>
  trx
    .selectFrom('enrollment_conflicts')
    .select('id')
    .where('machine_id', '=', claimant.machineId)
    .where('kind', '=', kind)
    .where('state', '=', state)
    .where(sameAs('claimed_serial', claimant.serial ?? null))
    .where(sameAs('claimed_cert', claimant.cert?.fingerprint ?? null));

async function isRejected(trx: Tx, claimant: Claimant, kind: ConflictKind) {
  return (await sameClaim(trx, claimant, kind, 'rejected').executeTakeFirst()) !== undefined;
}

const rejected = (claimant: Claimant): ConflictRef => ({
  id: null,
  state: 'rejected',
  reason: `an administrator refused this claim on machine id ${claimant.machineId}; only an administrator's approval of a new claim changes that`,
});

/**
 * The conflict for this claim: the pending one for the same claim counts another attempt (so a
 * client retrying every few minutes adds no rows or audit entries), or a new one, audited.
 */
async function recordConflict(
  trx: Tx,
  claimant: Claimant,
  kind: ConflictKind,
  reason: string,
  now: number,
): Promise<ConflictRef> {
  const same = await sameClaim(trx, claimant, kind, 'pending')
    .where(sameAs('claim_key_hash', claimant.keyHash ?? null))
    .executeTakeFirst();
  if (same) {
    await trx
      .updateTable('enrollment_conflicts')
      .set((eb) => ({ attempts: eb('attempts', '+', 1), last_seen_at: now }))
      .where('id', '=', same.id)
      .execute();
    return { id: same.id, state: 'pending', reason };
  }
  if (await pendingFull(trx, claimant.machineId))
    return {
      id: null,
      state: 'refused',
      reason: `${reason} (too many claims wait for an administrator already; this one was not recorded)`,
    };
  const { id } = await trx
    .insertInto('enrollment_conflicts')
    .values({
      machine_id: claimant.machineId,
      kind,
      state: 'pending',
      reason,
      claimed_serial: claimant.serial ?? null,
      claimed_cert: claimant.cert?.fingerprint ?? null,
      claimed_cert_subject: claimant.cert?.subject ?? null,
      claim_key_hash: claimant.keyHash ?? null,
      claims: JSON.stringify(claimant.claims),
      address: claimant.address,
      attempts: 1,
      created_at: now,
      last_seen_at: now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await audit(
    trx,
    {
      actor: `address:${claimant.address}`,
      action: 'enroll.conflict',
      target: `machine:${claimant.machineId}`,
      details: { conflict: id, kind, reason, serial: claimant.serial ?? null },
    },
    now,
  );
  return { id, state: 'pending', reason };
}

async function pendingFull(trx: Tx, machineId: string): Promise<boolean> {
  const pending = () => trx.selectFrom('enrollment_conflicts').where('state', '=', 'pending');
  const [mine, all] = await Promise.all([
    countOf(pending().where('machine_id', '=', machineId)),
    countOf(pending()),
  ]);
  return mine >= PENDING_PER_MACHINE || all >= PENDING_IN_ALL;
}

/** An approved Santa-client claim: the id is bound to what the claimant came with. */
async function rebindFleet(trx: Tx, conflict: Selectable<EnrollmentConflictsTable>): Promise<void> {
  const owner = await certOwner(trx, conflict.claimed_cert);
  if (owner && owner !== conflict.machine_id) throw new RequestError(409, certTaken(owner));
  await trx
    .updateTable('machines')
    .set({
      identity: 'fleet',
      token_hash: hashToken(randomBytes(32).toString('base64url')),
      enroll_key_hash: null,
      bound_serial: conflict.claimed_serial,
      cert_fingerprint: conflict.claimed_cert,
      cert_subject: conflict.claimed_cert_subject,
      sync_address: null,
      sync_token_hash: null,
    })
    .where('machine_id', '=', conflict.machine_id)
    .execute();
}
