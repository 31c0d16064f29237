// The one check for machine callers (Santa sync, approval requests, posture, the push stream).
// Two credentials are accepted:
// - Authorization: Bearer <token from enrollment> (a Gatehouse agent). A route whose path names a
//   machine (:machine_id) is only for that machine's own token; every refusal is a 401 that says
//   what was wrong (a token for another machine is refused like an unknown one, because either
//   way the caller holds no credential for what it asked).
// - On Santa's sync routes, the fleet credential a stock Santa client's profile carries in
//   SyncExtraHeaders (Authorization: Bearer <enrollment secret>), or a client certificate the
//   configured CA issued. Neither says which machine is calling, so admitFleetMachine binds the
//   machine id to the serial and certificate it first came with, and refuses (403, recorded as a
//   conflict for an admin) a request that does not match them. Only preflight carries the
//   serial: the other stages of a machine bound by its serial must carry the sync token (Santa's
//   XSRF token, from POST /santa/xsrf/:machine_id) that its accepted preflight carried.
// Failed credentials, new machines and refusals pass the enrollment throttle (429).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { normalizeKeys } from '../../common/santa';
import type { Certificate, Claimant, FleetAdmission } from '../db/enrollment';
import { hashToken } from '../db/machines';
import type { MachinesTable } from '../db/schema';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated machine, set by authenticateMachine on the machine routes. */
    machine?: MachinesTable;
    /** A Santa request on the fleet credential, until admitFleetMachine binds it to a machine. */
    fleetClaim?: { readonly cert?: Certificate | undefined };
  }
}

const MACHINE_ID = /^[A-Za-z0-9._:-]{1,256}$/;
const SANTA_PREFIX = '/santa/';
const PREFLIGHT = '/santa/preflight/:machine_id';
/** Where a stock Santa client fetches its sync token after a 403 (SNTSyncStage fetchXSRFToken). */
export const SYNC_TOKEN_ROUTE = '/santa/xsrf/:machine_id';
/** Santa's default header for it (kDefaultXSRFTokenHeader), as Node names headers. */
export const SYNC_TOKEN_HEADER = 'x-xsrf-token';
const SYNC_TOKEN = /^[\x21-\x7e]{16,256}$/;

const isSanta = (request: FastifyRequest) =>
  request.routeOptions.url?.startsWith(SANTA_PREFIX) ?? false;

async function refuse(request: FastifyRequest, reply: FastifyReply, status: number, error: string) {
  const wait = await request.server.enrollment.throttle(request);
  if (wait !== undefined)
    return void (await reply
      .code(429)
      .header('retry-after', String(wait))
      .send({
        error: `too many refused or new machines from this address; try again in ${wait} s`,
      }));
  return void (await reply.code(status).send({ error }));
}

export async function authenticateMachine(
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const { enrollment } = request.server;
  const cert = enrollment.certificateOf(request);
  if (cert.state === 'refused') return refuse(request, reply, 401, cert.why);
  const santa = isSanta(request);
  const header = request.headers.authorization ?? '';
  const token = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
  // Required certificates stand in for the fleet credential; an agent's own token, issued to
  // one machine at enrollment, still stands without one.
  const agentToken = token !== '' && !enrollment.isFleetSecret(token);
  if (
    santa &&
    enrollment.clientCertificates === 'required' &&
    cert.state !== 'accepted' &&
    !agentToken
  )
    return refuse(
      request,
      reply,
      401,
      'this server requires a client certificate for Santa sync: set ClientAuthCertificateFile (or ClientAuthCertificateCN) in the Santa profile',
    );
  const named = (request.params as { machine_id?: string } | undefined)?.machine_id;
  const fleet = token ? enrollment.isFleetSecret(token) : cert.state === 'accepted';
  if (santa && named !== undefined && fleet) {
    request.fleetClaim = cert.state === 'accepted' ? { cert } : {};
    return;
  }
  if (!token)
    return refuse(
      request,
      reply,
      401,
      'a machine token is required: Authorization: Bearer <token from enrollment>',
    );
  const machines = request.server.repos.machines;
  // A route that names its machine finds it by primary key and compares the token's hash in
  // constant time; only a refusal or a route without a machine id looks the token up.
  const machine =
    named === undefined ? await machines.byToken(token) : await machines.authenticate(named, token);
  if (!machine) {
    const owner = named === undefined ? undefined : await machines.byToken(token);
    return refuse(
      request,
      reply,
      401,
      owner ? 'this token belongs to another machine' : 'unknown machine token: enroll again',
    );
  }
  request.machine = machine;
}

/** The sync token a Santa request carries, if it carries a well-formed one. */
function syncTokenOf(request: FastifyRequest): string | undefined {
  const value = request.headers[SYNC_TOKEN_HEADER];
  return typeof value === 'string' && SYNC_TOKEN.test(value) ? value : undefined;
}

/** What a Santa preflight says about the machine: its serial binds it, the rest is shown. */
function preflightClaims(request: FastifyRequest) {
  let body: Record<string, unknown>;
  try {
    body = normalizeKeys(request.body, 'preflight');
  } catch {
    body = {};
  }
  const text = (key: string) => {
    const value = body[key];
    return typeof value === 'string' && value.length <= 256 ? value : undefined;
  };
  const claims: Record<string, unknown> = {};
  for (const key of ['hostname', 'primary_user', 'os_version', 'santa_version', 'model_identifier'])
    if (text(key) !== undefined) claims[key] = text(key);
  return { serial: text('serial_num') || undefined, claims };
}

/**
 * Binds a request on the fleet credential to its machine (preValidation: a preflight's serial is
 * in its body). A new machine id is created at its first preflight; a mismatch is refused.
 */
export async function admitFleetMachine(
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const claim = request.fleetClaim;
  // The sync token's own route hands out a token and nothing else: no machine to admit.
  if (!claim || request.routeOptions.url === SYNC_TOKEN_ROUTE) return;
  const { enrollment, repos } = request.server;
  const machineId = (request.params as { machine_id: string }).machine_id;
  if (!MACHINE_ID.test(machineId))
    return refuse(request, reply, 400, 'machine ids are 1 to 256 letters, digits and . _ : -');
  const preflight = request.routeOptions.url === PREFLIGHT;
  const syncToken = syncTokenOf(request);
  // A preflight on the fleet credential alone starts a session only with a token to bind it to.
  // Not a refusal of the caller: Santa answers this 403 by fetching a token and trying again.
  if (preflight && !claim.cert && syncToken === undefined)
    return void (await reply.code(403).send({
      error: `a Santa sync on the fleet credential needs a sync token: POST ${SANTA_PREFIX}xsrf/${machineId} and send what it answers in X-XSRF-TOKEN (a stock Santa client does this by itself on this answer)`,
    }));
  const { serial, claims } = preflight
    ? preflightClaims(request)
    : { serial: undefined, claims: {} };
  if (!(await repos.machines.get(machineId))) {
    const wait = await enrollment.throttle(request);
    if (wait !== undefined)
      return void (await reply
        .code(429)
        .header('retry-after', String(wait))
        .send({ error: `too many new machines; try again in ${wait} s` }));
  }
  const claimant: Claimant = {
    machineId,
    address: request.ip,
    serial,
    cert: claim.cert,
    claims,
    syncTokenHash: syncToken === undefined ? undefined : hashToken(syncToken),
  };
  const admission = await enrollment.repo.admitFleet(claimant, preflight);
  if ('machine' in admission) {
    request.machine = admission.machine;
    return;
  }
  return refuseClaim(request, reply, claimant, admission);
}

async function refuseClaim(
  request: FastifyRequest,
  reply: FastifyReply,
  claimant: Claimant,
  admission: Exclude<FleetAdmission, { machine: MachinesTable }>,
) {
  if ('refused' in admission) {
    await request.server.enrollment.repo.refused(claimant, admission.refused);
    return refuse(request, reply, 403, admission.refused);
  }
  const { conflict } = admission;
  const recorded =
    conflict.state === 'pending'
      ? `; recorded as enrollment conflict ${conflict.id} for an administrator to approve or reject in the console`
      : '';
  return refuse(request, reply, 403, `${conflict.reason}${recorded}`);
}

/** The authenticated machine; only called on routes behind authenticateMachine. */
export function machineOf(request: FastifyRequest): MachinesTable {
  if (!request.machine) throw new Error('a machine route ran without authenticateMachine');
  return request.machine;
}
