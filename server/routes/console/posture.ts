// Posture for the console's viewers: fleet posture per check, the machines behind each count,
// and one machine's results (delivered by routes/machine/posture.ts).
import type { FastifyInstance } from 'fastify';
import type { PostureStatus } from '../../../common/posture';

const STATUSES: readonly PostureStatus[] = ['pass', 'fail', 'unknown'];

export async function consolePostureRoutes(app: FastifyInstance): Promise<void> {
  const repos = app.repos;
  app.get('/console/api/posture', async () => repos.posture.fleet());

  app.get<{ Params: { check: string }; Querystring: { status?: string } }>(
    '/console/api/posture/:check/machines',
    async (request, reply) => {
      const status = request.query.status as PostureStatus;
      if (!STATUSES.includes(status))
        return reply.code(400).send({ error: `status must be one of ${STATUSES.join(', ')}` });
      return { machines: await repos.posture.machines(request.params.check, status) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/console/api/machines/:id/posture',
    async (request, reply) => {
      const machine = await repos.machines.get(request.params.id);
      if (!machine) return reply.code(404).send({ error: `no machine ${request.params.id}` });
      const posture = await repos.posture.forMachine(machine.machine_id);
      return {
        machine_id: machine.machine_id,
        hostname: machine.hostname,
        results: posture.results,
        received_at: posture.receivedAt,
      };
    },
  );
}
