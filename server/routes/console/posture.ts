// Posture for the console's viewers: fleet posture per check, the machines behind each count,
// and one machine's results (delivered by routes/machine/posture.ts).
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import {
  CheckMachines,
  CheckParams,
  Failure,
  FleetSummary,
  IdParams,
  MachinePostureView,
  PostureQuery,
} from '../../schemas/console';
import { knownMachine } from './input';

export async function consolePostureRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const repos = app.repos;
  app.get('/console/api/posture', { schema: { response: { 200: FleetSummary } } }, async () =>
    repos.posture.fleet(),
  );

  app.get(
    '/console/api/posture/:check/machines',
    {
      schema: {
        params: CheckParams,
        querystring: PostureQuery,
        response: { 200: CheckMachines },
      },
    },
    async (request) => ({
      machines: await repos.posture.machines(request.params.check, request.query.status),
    }),
  );

  app.get(
    '/console/api/machines/:id/posture',
    { schema: { params: IdParams, response: { 200: MachinePostureView, '4xx': Failure } } },
    async (request) => {
      const machine = await knownMachine(repos.machines, request.params.id);
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
