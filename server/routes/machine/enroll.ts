// POST /api/v1/enroll: a Gatehouse agent with the enrollment secret gets its own token. A new
// machine id is enrolled at once; an id that is enrolled already is only re-enrolled when the
// caller proves it is the same installation (its enrollment key) or an admin approved its claim.
// Anything else leaves the live token alone and waits in the console as a conflict (409). Every
// attempt passes the enrollment throttle (429 + Retry-After) and every outcome is audited.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { normalizeKeys, optionalString, SantaRequestError } from '../../../common/santa';
import { hashKey } from '../../db/enrollment';
import type { MachineFacts } from '../../db/machines';
import { machineOf } from '../../plugins/machine-auth';
import {
  EnrollConflict,
  Enrolled,
  EnrollmentKey,
  EnrollmentKeyStored,
  MachineParams,
  Refusals,
} from '../../schemas/machine';

const TAG = /^[A-Za-z0-9._-]{1,64}$/;

function parseEnrollment(body: Record<string, unknown>) {
  const where = 'enroll';
  const machineId = optionalString(body, 'machine_id', where, 256);
  if (!machineId || !/^[A-Za-z0-9._:-]+$/.test(machineId))
    throw new SantaRequestError('enroll: machine_id is required: letters, digits and . _ : - only');
  const tags = body.tags ?? [];
  if (
    !Array.isArray(tags) ||
    tags.length > 50 ||
    tags.some((tag) => typeof tag !== 'string' || !TAG.test(tag))
  )
    throw new SantaRequestError(
      'enroll: tags must be a list of at most 50 names (letters, digits and . _ - only)',
    );
  const key = optionalString(body, 'enrollment_key', where, 256);
  if (key !== undefined && key.length < 32)
    throw new SantaRequestError('enroll: enrollment_key must be at least 32 characters of random');
  const facts: MachineFacts = {
    tags: tags as string[],
    serial_num: optionalString(body, 'serial_num', where),
    hostname: optionalString(body, 'hostname', where),
    os_version: optionalString(body, 'os_version', where),
    os_build: optionalString(body, 'os_build', where),
    model_identifier: optionalString(body, 'model_identifier', where),
    agent_version: optionalString(body, 'agent_version', where),
    primary_user: optionalString(body, 'primary_user', where),
  };
  return { machineId, key, facts };
}

/** The secret, checked before anything else is read; a wrong one is audited and refused. */
async function checkSecret(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const { enrollment } = request.server;
  const wait = await enrollment.throttle(request);
  if (wait !== undefined)
    return void (await reply
      .code(429)
      .header('retry-after', String(wait))
      .send({ error: `enroll: too many enrollment attempts; try again in ${wait} s` }));
  let body: Record<string, unknown>;
  try {
    body = normalizeKeys(request.body, 'enroll');
  } catch (error) {
    return void (await reply.code(400).send({ error: (error as Error).message }));
  }
  const given = typeof body.enrollment_secret === 'string' ? body.enrollment_secret : '';
  if (!enrollment.isFleetSecret(given)) {
    const claimed = body.machine_id;
    await enrollment.repo.refused(
      { machineId: typeof claimed === 'string' ? claimed.slice(0, 256) : '', address: request.ip },
      'wrong enrollment secret',
    );
    return void (await reply.code(401).send({ error: 'enroll: wrong enrollment secret' }));
  }
}

export async function enrollRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const schema = {
    response: { 200: Enrolled, 403: EnrollConflict, 409: EnrollConflict, ...Refusals },
  };
  app.post('/api/v1/enroll', { schema, preHandler: checkSecret }, async (request, reply) => {
    let parsed: ReturnType<typeof parseEnrollment>;
    try {
      parsed = parseEnrollment(normalizeKeys(request.body, 'enroll'));
    } catch (error) {
      if (error instanceof SantaRequestError) return reply.code(400).send({ error: error.message });
      throw error;
    }
    const { machineId, key, facts } = parsed;
    const { tags, ...claims } = facts;
    const outcome = await app.enrollment.repo.enrollAgent(
      {
        machineId,
        address: request.ip,
        serial: facts.serial_num,
        keyHash: key === undefined ? undefined : hashKey(key),
        claims: { ...claims, tags },
      },
      facts,
    );
    if ('token' in outcome) return { machine_id: machineId, token: outcome.token };
    const { conflict } = outcome;
    return reply.code(conflict.state === 'pending' ? 409 : 403).send({
      error: `enroll: ${conflict.reason}`,
      state: conflict.state,
      ...(conflict.id === null ? {} : { conflict_id: conflict.id }),
    });
  });
}

/**
 * POST /api/v1/machines/:machine_id/enrollment-key, with the machine's token (registered inside
 * the machine routes' hook): an agent enrolled before it kept a key registers one, once.
 */
export async function enrollmentKeyRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const schema = {
    params: MachineParams,
    body: EnrollmentKey,
    response: { 200: EnrollmentKeyStored, ...Refusals },
  };
  app.post('/api/v1/machines/:machine_id/enrollment-key', { schema }, async (request, reply) => {
    const machine = machineOf(request);
    const outcome = await app.enrollment.repo.registerKey(
      machine.machine_id,
      hashKey(request.body.enrollment_key),
    );
    if (outcome === 'other')
      return reply.code(409).send({
        error: `machine ${machine.machine_id} has another enrollment key registered already; it is never replaced`,
      });
    return { registered: true as const };
  });
}
