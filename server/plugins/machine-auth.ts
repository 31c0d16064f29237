// The one check for machine callers (Santa sync, approval requests, posture, the push stream):
// Authorization: Bearer <token from enrollment>. A route whose path names a machine
// (:machine_id) is only for that machine's own token. Every refusal is a 401 that says which
// of the three things was wrong; a token for another machine is refused like an unknown one,
// because either way the caller holds no credential for what it asked.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { MachinesTable } from '../db/schema';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated machine, set by authenticateMachine on the machine routes. */
    machine?: MachinesTable;
  }
}

export async function authenticateMachine(
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const header = request.headers.authorization ?? '';
  const token = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
  if (!token)
    return void (await reply.code(401).send({
      error: 'a machine token is required: Authorization: Bearer <token from enrollment>',
    }));
  const machines = request.server.repos.machines;
  const named = (request.params as { machine_id?: string } | undefined)?.machine_id;
  // A route that names its machine finds it by primary key and compares the token's hash in
  // constant time; only a refusal or a route without a machine id looks the token up.
  const machine =
    named === undefined ? await machines.byToken(token) : await machines.authenticate(named, token);
  if (!machine) {
    const owner = named === undefined ? undefined : await machines.byToken(token);
    return void (await reply.code(401).send({
      error: owner
        ? 'this token belongs to another machine'
        : 'unknown machine token: enroll again',
    }));
  }
  request.machine = machine;
}

/** The authenticated machine; only called on routes behind authenticateMachine. */
export function machineOf(request: FastifyRequest): MachinesTable {
  if (!request.machine) throw new Error('a machine route ran without authenticateMachine');
  return request.machine;
}
