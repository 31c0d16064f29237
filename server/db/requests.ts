// Approval requests: created by a machine for a blocked event, with the user's justification;
// decided by the helpdesk. pending → approved | denied | needs-info (a question) → pending (the
// user's answer). Approving creates the rule in the same transaction.
import type { Transaction } from 'kysely';
import { ruleTarget, type PushHub } from '../push';
import type { Db } from './connect';
import { audit } from './audit';
import { LimitError } from './limits';
import { lockRows, rowBy } from './rows';
import { containsText, pageOf, type Page, type PageOf } from './search';
import type { ApprovalRequestsTable, Database, RequestMessagesTable } from './schema';

export type RequestState = 'pending' | 'approved' | 'denied' | 'needs-info';
export const REQUEST_STATES: readonly RequestState[] = [
  'pending',
  'needs-info',
  'approved',
  'denied',
];

/** What the helpdesk's queue can be narrowed to. Times are milliseconds since the epoch. */
export interface RequestFilter {
  readonly states: readonly RequestState[];
  /** Created at or before this time. */
  readonly createdUpTo?: number;
  /** Created at or after this time. */
  readonly createdFrom?: number;
  /** Part of the machine id or its hostname. */
  readonly machine?: string;
  /** Part of the requesting user's name. */
  readonly user?: string;
}

export type QueueRow = RequestRow & { hostname: string | null };
export type ApprovalScope = 'machine' | 'user' | 'global';

export type NewRequest = Pick<
  ApprovalRequestsTable,
  | 'client_request_id'
  | 'requester'
  | 'file_sha256'
  | 'file_path'
  | 'file_name'
  | 'decision'
  | 'execution_time'
  | 'justification'
>;

export type RequestRow = Omit<ApprovalRequestsTable, 'id'> & { id: number };
export type MessageRow = Omit<RequestMessagesTable, 'id'> & { id: number };

export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Trx = Transaction<Database>;

/** Requests one machine may create in an hour: more is a machine flooding the queue. */
export const MACHINE_REQUESTS_PER_HOUR = 20;
const HOUR_MS = 3_600_000;

/**
 * A machine may have one open request per file and MACHINE_REQUESTS_PER_HOUR new ones an hour.
 * The machine's row is locked first (PostgreSQL), so that parallel creates are counted in turn.
 */
async function withinMachineLimits(trx: Trx, machineId: string, sha256: string, now: number) {
  await trx
    .selectFrom('machines')
    .select('machine_id')
    .where('machine_id', '=', machineId)
    .$if(lockRows(trx), (query) => query.forUpdate())
    .execute();
  const open = await trx
    .selectFrom('approval_requests')
    .select('id')
    .where('machine_id', '=', machineId)
    .where('file_sha256', '=', sha256)
    .where('state', 'in', ['pending', 'needs-info'])
    .executeTakeFirst();
  if (open)
    throw new LimitError(
      'machine_requests',
      600,
      `request ${open.id} for this file is still open on this machine: wait for the helpdesk's answer`,
    );
  const recent = await trx
    .selectFrom('approval_requests')
    .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.min('created_at').as('oldest')])
    .where('machine_id', '=', machineId)
    .where('created_at', '>', now - HOUR_MS)
    .executeTakeFirstOrThrow();
  if (Number(recent.n) >= MACHINE_REQUESTS_PER_HOUR) {
    const retryAfterS = Math.max(1, Math.ceil((Number(recent.oldest) + HOUR_MS - now) / 1000));
    throw new LimitError(
      'machine_requests',
      retryAfterS,
      `this machine has sent ${MACHINE_REQUESTS_PER_HOUR} requests in the last hour, the limit: try again in ${Math.ceil(retryAfterS / 60)} minutes`,
    );
  }
}

/** The request, locked for this transaction, so that no other change to it interleaves. */
async function lockedRequest(trx: Trx, id: number) {
  const request = await rowBy(trx, 'approval_requests', 'id', id, { lock: true });
  if (!request) throw new RequestError(404, `no request ${id}`);
  return request;
}

/** The request, locked for this transaction, as long as nobody has decided it yet. */
async function undecidedRequest(trx: Trx, id: number) {
  const request = await lockedRequest(trx, id);
  if (request.state === 'approved' || request.state === 'denied')
    throw new RequestError(409, `request ${id} is already ${request.state}`);
  return request;
}

/** Every rule change takes the next version from the one sequence (db/rules.ts). */
async function nextRuleVersion(trx: Trx): Promise<number> {
  const row = await trx
    .updateTable('counters')
    .set((eb) => ({ value: eb('value', '+', 1) }))
    .where('name', '=', 'rule_version')
    .returning('value')
    .executeTakeFirstOrThrow();
  return Number(row.value);
}

async function helpdeskMessage(trx: Trx, id: number, actor: string, body: string, now: number) {
  await trx
    .insertInto('request_messages')
    .values({ request_id: id, author: 'helpdesk', author_name: actor, body, created_at: now })
    .execute();
}

export class RequestRepository {
  constructor(
    private readonly db: Db,
    private readonly push?: PushHub,
  ) {}

  async #announce(
    request: RequestRow,
    ruleScope?: { scope: string; value: string | null },
  ): Promise<void> {
    if (!this.push) return;
    if (ruleScope)
      await this.push.publish({
        kind: 'rules-changed',
        target: ruleTarget(ruleScope.scope, ruleScope.value),
      });
    await this.push.publish({
      kind: 'request-updated',
      target: { machines: [request.machine_id] },
      detail: { id: request.id, state: request.state },
    });
  }

  /** Creates a request, or returns the one this machine already sent with that client id. */
  async create(
    machineId: string,
    request: NewRequest,
    now = Date.now(),
    actor = `machine:${machineId}`,
  ): Promise<{ row: RequestRow; created: boolean }> {
    return this.db.transaction().execute(async (trx) => {
      const existing = await trx
        .selectFrom('approval_requests')
        .selectAll()
        .where('machine_id', '=', machineId)
        .where('client_request_id', '=', request.client_request_id)
        .executeTakeFirst();
      if (existing) return { row: existing as RequestRow, created: false };
      await withinMachineLimits(trx, machineId, request.file_sha256, now);
      const row = (await trx
        .insertInto('approval_requests')
        .values({
          ...request,
          machine_id: machineId,
          state: 'pending',
          rule_id: null,
          decided_by: null,
          created_at: now,
          updated_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow()) as RequestRow;
      await audit(
        trx,
        {
          actor,
          action: 'request.create',
          target: `request:${row.id}`,
          details: { requester: request.requester, file_sha256: request.file_sha256 },
        },
        now,
      );
      return { row, created: true };
    });
  }

  /** The request for this file by this person on this machine still waiting on someone. */
  async openFor(
    machineId: string,
    sha256: string,
    requester: string,
  ): Promise<RequestRow | undefined> {
    return (await this.db
      .selectFrom('approval_requests')
      .selectAll()
      .where('machine_id', '=', machineId)
      .where('file_sha256', '=', sha256)
      .where('requester', '=', requester)
      .where('state', 'in', ['pending', 'needs-info'])
      .orderBy('id')
      .executeTakeFirst()) as RequestRow | undefined;
  }

  async get(id: number): Promise<RequestRow | undefined> {
    return (await rowBy(this.db, 'approval_requests', 'id', id)) as RequestRow | undefined;
  }

  async listForMachine(machineId: string, requester?: string, limit = 500): Promise<RequestRow[]> {
    let query = this.db
      .selectFrom('approval_requests')
      .selectAll()
      .where('machine_id', '=', machineId);
    if (requester) query = query.where('requester', '=', requester);
    return (await query.orderBy('id', 'desc').limit(limit).execute()) as RequestRow[];
  }

  /** The queue, filtered: oldest first, so that nobody waits behind newer requests. */
  async search(filter: RequestFilter, page: Page): Promise<PageOf<QueueRow>> {
    const base = this.db
      .selectFrom('approval_requests as r')
      .leftJoin('machines as m', 'm.machine_id', 'r.machine_id')
      .where('r.state', 'in', [...filter.states])
      .$if(filter.createdUpTo !== undefined, (q) =>
        q.where('r.created_at', '<=', filter.createdUpTo!),
      )
      .$if(filter.createdFrom !== undefined, (q) =>
        q.where('r.created_at', '>=', filter.createdFrom!),
      )
      .$if(Boolean(filter.machine), (q) =>
        q.where((eb) =>
          eb.or([
            containsText('r.machine_id', filter.machine!),
            containsText('m.hostname', filter.machine!),
          ]),
        ),
      )
      .$if(Boolean(filter.user), (q) => q.where(containsText('r.requester', filter.user!)));
    const { rows, total } = await pageOf(base, page, (q) =>
      q.selectAll('r').select('m.hostname').orderBy('r.created_at').orderBy('r.id'),
    );
    return { rows: rows as QueueRow[], total };
  }

  /** Other requests for the same file, newest first, with who decided them. */
  async forFile(sha256: string, exceptId: number, limit = 20) {
    return this.db
      .selectFrom('approval_requests as r')
      .leftJoin('machines as m', 'm.machine_id', 'r.machine_id')
      .leftJoin('rules as rule', 'rule.id', 'r.rule_id')
      .select([
        'r.id',
        'r.state',
        'r.machine_id',
        'm.hostname',
        'r.requester',
        'r.decided_by',
        'r.created_at',
        'r.updated_at',
        'rule.scope as rule_scope',
        'rule.scope_value as rule_scope_value',
        'rule.expires_at as rule_expires_at',
      ])
      .where('r.file_sha256', '=', sha256)
      .where('r.id', '!=', exceptId)
      .orderBy('r.id', 'desc')
      .limit(limit)
      .execute();
  }

  /** The helpdesk's queue: oldest pending first. */
  async queue(state: RequestState = 'pending'): Promise<RequestRow[]> {
    return (await this.db
      .selectFrom('approval_requests')
      .selectAll()
      .where('state', '=', state)
      .orderBy('created_at')
      .limit(500)
      .execute()) as RequestRow[];
  }

  async messages(requestId: number): Promise<MessageRow[]> {
    return (await this.db
      .selectFrom('request_messages')
      .selectAll()
      .where('request_id', '=', requestId)
      .orderBy('id')
      .execute()) as MessageRow[];
  }

  /** Approves: the rule and the decision land together, or neither does. */
  async approve(
    id: number,
    options: { scope: ApprovalScope; expiresAt?: number | null; actor: string; message?: string },
    now = Date.now(),
  ): Promise<RequestRow> {
    const { updated, scope, scopeValue } = await this.db.transaction().execute(async (trx) => {
      const request = await undecidedRequest(trx, id);
      const version = await nextRuleVersion(trx);
      const machine = await trx
        .selectFrom('machines')
        .select('primary_user')
        .where('machine_id', '=', request.machine_id)
        .executeTakeFirst();
      const scopeValue =
        options.scope === 'machine'
          ? request.machine_id
          : options.scope === 'user'
            ? (machine?.primary_user ?? request.requester)
            : null;
      const rule = await trx
        .insertInto('rules')
        .values({
          identifier: request.file_sha256,
          rule_type: 'BINARY',
          policy: 'ALLOWLIST',
          custom_msg: null,
          custom_url: null,
          // Santa tells the user "<name> can now be run" when the rule arrives.
          notification_app_name: request.file_name ? request.file_name.slice(0, 256) : null,
          scope: options.scope === 'user' ? 'user' : options.scope,
          scope_value: scopeValue,
          expires_at: options.expiresAt ?? null,
          comment: `approved request ${id}: ${request.justification.slice(0, 200)}`,
          created_by: options.actor,
          created_at: now,
          deleted: 0,
          version,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      const updated = (await trx
        .updateTable('approval_requests')
        .set({ state: 'approved', rule_id: rule.id, decided_by: options.actor, updated_at: now })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow()) as RequestRow;
      if (options.message) await helpdeskMessage(trx, id, options.actor, options.message, now);
      await audit(
        trx,
        {
          actor: options.actor,
          action: 'request.approve',
          target: `request:${id}`,
          details: {
            scope: options.scope,
            scope_value: scopeValue,
            rule_id: rule.id,
            expires_at: options.expiresAt ?? null,
          },
        },
        now,
      );
      return { updated, scope: options.scope as string, scopeValue };
    });
    await this.#announce(updated, { scope, value: scopeValue });
    return updated;
  }

  async deny(
    id: number,
    options: { actor: string; message: string },
    now = Date.now(),
  ): Promise<RequestRow> {
    return this.#helpdeskAnswers(id, 'denied', options.actor, options.message, 'request.deny', now);
  }

  async ask(
    id: number,
    options: { actor: string; question: string },
    now = Date.now(),
  ): Promise<RequestRow> {
    return this.#helpdeskAnswers(
      id,
      'needs-info',
      options.actor,
      options.question,
      'request.ask',
      now,
    );
  }

  /**
   * The user's answer to a question puts the request back in the queue. It is the machine's
   * word: audited as the machine, and labelled with the user the request was made for, never
   * with a name the reply carries (a machine could say "admin").
   */
  async reply(
    id: number,
    machineId: string,
    options: { body: string },
    now = Date.now(),
  ): Promise<RequestRow> {
    const request = await this.get(id);
    if (!request || request.machine_id !== machineId)
      throw new RequestError(404, `no request ${id} from this machine`);
    return this.#transition(
      id,
      'pending',
      ['needs-info'],
      `machine:${machineId}`,
      'user',
      options.body,
      'request.reply',
      now,
      request.requester,
    );
  }

  /** The helpdesk may deny or ask again while a request waits on it or on the user. */
  async #helpdeskAnswers(
    id: number,
    to: RequestState,
    actor: string,
    body: string,
    action: string,
    now: number,
  ): Promise<RequestRow> {
    return this.#transition(
      id,
      to,
      ['pending', 'needs-info'],
      actor,
      'helpdesk',
      body,
      action,
      now,
    );
  }

  async #transition(
    id: number,
    to: RequestState,
    from: RequestState[],
    actor: string,
    author: 'user' | 'helpdesk',
    body: string,
    action: string,
    now: number,
    /** The name the message is shown under, when it is not the actor's (a machine's user). */
    authorName = actor,
  ): Promise<RequestRow> {
    const updated = await this.db.transaction().execute(async (trx) => {
      const request = await lockedRequest(trx, id);
      if (!from.includes(request.state as RequestState))
        throw new RequestError(409, `request ${id} is ${request.state}; it cannot become ${to}`);
      const updated = (await trx
        .updateTable('approval_requests')
        .set({
          state: to,
          decided_by: author === 'helpdesk' ? actor : request.decided_by,
          updated_at: now,
        })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow()) as RequestRow;
      await trx
        .insertInto('request_messages')
        .values({ request_id: id, author, author_name: authorName, body, created_at: now })
        .execute();
      const details = {
        from: request.state,
        to,
        ...(author === 'user' ? { user: authorName } : {}),
      };
      await audit(trx, { actor, action, target: `request:${id}`, details }, now);
      return updated;
    });
    await this.#announce(updated);
    return updated;
  }
}
