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
  const machine = await request.server.repos.machines.byToken(token);
  if (!machine)
    return void (await reply.code(401).send({ error: 'unknown machine token: enroll again' }));
  const named = (request.params as { machine_id?: string } | undefined)?.machine_id;
  if (named !== undefined && named !== machine.machine_id)
    return void (await reply.code(401).send({ error: 'this token belongs to another machine' }));
  request.machine = machine;
}

/** The authenticated machine; only called on routes behind authenticateMachine. */
export function machineOf(request: FastifyRequest): MachinesTable {
  if (!request.machine) throw new Error('a machine route ran without authenticateMachine');
  return request.machine;
}
