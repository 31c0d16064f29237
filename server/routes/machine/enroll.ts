// POST /api/v1/enroll: a machine with the enrollment secret gets its own token.
import { timingSafeEqual } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { normalizeKeys, optionalString, SantaRequestError } from '../../../common/santa';
import { Enrolled, Refusals } from '../../schemas/machine';

export async function enrollRoutes(
  fastify: FastifyInstance,
  { enrollmentSecret }: { enrollmentSecret: string },
): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const secret = Buffer.from(enrollmentSecret);
  const schema = { response: { 200: Enrolled, ...Refusals } };
  app.post('/api/v1/enroll', { schema }, async (request, reply) => {
    let body: Record<string, unknown>;
    try {
      body = normalizeKeys(request.body, 'enroll');
    } catch (error) {
      return reply.code(400).send({ error: (error as Error).message });
    }
    const given = Buffer.from(
      typeof body.enrollment_secret === 'string' ? body.enrollment_secret : '',
    );
    if (given.length !== secret.length || !timingSafeEqual(given, secret)) {
      return reply.code(401).send({ error: 'enroll: wrong enrollment secret' });
    }
    try {
      const where = 'enroll';
      const machineId = optionalString(body, 'machine_id', where, 256);
      if (!machineId || !/^[A-Za-z0-9._:-]+$/.test(machineId)) {
        throw new SantaRequestError(
          'enroll: machine_id is required: letters, digits and . _ : - only',
        );
      }
      const tags = body.tags ?? [];
      if (
        !Array.isArray(tags) ||
        tags.length > 50 ||
        tags.some((tag) => typeof tag !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(tag))
      ) {
        throw new SantaRequestError(
          'enroll: tags must be a list of at most 50 names (letters, digits and . _ - only)',
        );
      }
      const token = await app.repos.machines.enroll(machineId, {
        tags: tags as string[],
        serial_num: optionalString(body, 'serial_num', where),
        hostname: optionalString(body, 'hostname', where),
        os_version: optionalString(body, 'os_version', where),
        os_build: optionalString(body, 'os_build', where),
        model_identifier: optionalString(body, 'model_identifier', where),
        agent_version: optionalString(body, 'agent_version', where),
        primary_user: optionalString(body, 'primary_user', where),
      });
      return { machine_id: machineId, token };
    } catch (error) {
      if (error instanceof SantaRequestError) return reply.code(400).send({ error: error.message });
      throw error;
    }
  });
}
