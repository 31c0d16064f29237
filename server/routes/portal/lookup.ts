// What a signed-in person may see: a block is theirs when the machine reported them running the
// file or the machine's primary user is them; a request is theirs when it names them and was
// filed for such a block. Everything the portal shows goes through these queries.
import type { FastifyInstance } from 'fastify';
import type { RequestRow } from '../../db/requests';
import type { Blocked, PortalRequest } from '../../schemas/portal';
import { requesterView } from '../requester-view';

type Repos = FastifyInstance['repos'];
type Db = FastifyInstance['db'];

const ALLOWING = new Set(['ALLOWLIST', 'ALLOWLIST_COMPILER']);

/** The latest report of this file on this machine, when it concerns `person`; else undefined. */
async function blockOf(db: Db, person: string, sha256: string, machineId: string) {
  const machine = await db
    .selectFrom('machines')
    .select(['machine_id', 'hostname', 'primary_user', 'tags'])
    .where('machine_id', '=', machineId)
    .executeTakeFirst();
  if (!machine) return undefined;
  const event = await db
    .selectFrom('events')
    .selectAll()
    .where('machine_id', '=', machineId)
    .where('file_sha256', '=', sha256)
    .$if(machine.primary_user !== person, (query) => query.where('executing_user', '=', person))
    .orderBy('execution_time', 'desc')
    .orderBy('id', 'desc')
    .executeTakeFirst();
  return event ? { machine, event } : undefined;
}

export async function blockedFor(
  db: Db,
  repos: Repos,
  person: string,
  sha256: string,
  machineId: string,
): Promise<Blocked | undefined> {
  const found = await blockOf(db, person, sha256, machineId);
  if (!found) return undefined;
  const { machine, event } = found;
  const binary = await repos.events.binary(sha256);
  const rules = await repos.rules.resolvedFor({
    machineId,
    primaryUser: machine.primary_user,
    tags: JSON.parse(machine.tags) as string[],
  });
  const allowed = rules.some(
    (rule) =>
      rule.identifier === sha256 &&
      rule.rule_type === 'BINARY' &&
      ALLOWING.has(rule.policy) &&
      rule.shadowed_by === null,
  );
  const mine = await requestsOf(db, repos, person, { machineId, sha256 });
  return {
    machine: { id: machine.machine_id, hostname: machine.hostname },
    program: {
      name: event.file_name,
      path: event.file_path,
      sha256,
      signer: binary?.signer ?? null,
      team_id: binary?.team_id ?? null,
      signing_id: binary?.signing_id ?? null,
      package: binary?.package ?? null,
    },
    user: event.executing_user,
    decision: event.decision,
    // Machines report seconds (Santa's unit); the portal's times are milliseconds.
    blocked_at: Math.round(Number(event.execution_time) * 1000),
    allowed,
    request:
      mine.find((request) => request.state === 'pending' || request.state === 'needs-info') ??
      mine[0] ??
      null,
  };
}

/** The person's requests, newest first (at most 100), optionally for one file on one machine. */
export async function requestsOf(
  db: Db,
  repos: Repos,
  person: string,
  only: { machineId?: string; sha256?: string; id?: number } = {},
): Promise<PortalRequest[]> {
  const rows = await db
    .selectFrom('approval_requests as r')
    .leftJoin('machines as m', 'm.machine_id', 'r.machine_id')
    .selectAll('r')
    .select('m.hostname')
    .where('r.requester', '=', person)
    .where((eb) =>
      eb.or([
        eb('m.primary_user', '=', person),
        eb.exists(
          eb
            .selectFrom('events as e')
            .select('e.id')
            .whereRef('e.machine_id', '=', 'r.machine_id')
            .whereRef('e.file_sha256', '=', 'r.file_sha256')
            .where('e.executing_user', '=', person),
        ),
      ]),
    )
    .$if(only.machineId !== undefined, (q) => q.where('r.machine_id', '=', only.machineId!))
    .$if(only.sha256 !== undefined, (q) => q.where('r.file_sha256', '=', only.sha256!))
    .$if(only.id !== undefined, (q) => q.where('r.id', '=', only.id!))
    .orderBy('r.id', 'desc')
    .limit(100)
    .execute();
  return Promise.all(
    rows.map((row) => view(repos, row as RequestRow & { hostname: string | null })),
  );
}

async function view(
  repos: Repos,
  row: RequestRow & { hostname: string | null },
): Promise<PortalRequest> {
  return {
    ...(await requesterView(repos.requests, row)),
    machine_id: row.machine_id,
    hostname: row.hostname,
  };
}
