// GET /api/v1/machines/:machine_id/stream: Server-Sent Events for one machine, authenticated by
// its token (routes/machine/index.ts). The agent answers "rules changed" with a rule sync, "request updated" with a sync.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { machineOf } from '../../plugins/machine-auth';
import type { PushMessage } from '../../push';
import { MachineParams } from '../../schemas/machine';

const HEARTBEAT_MS = 25_000;

export async function streamRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const hub = app.repos.push;
  app.get(
    '/api/v1/machines/:machine_id/stream',
    { schema: { params: MachineParams } },
    async (request, reply) => {
      const machine = machineOf(request);
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      raw.write(': connected\n\n');
      const send = (message: PushMessage) =>
        raw.write(`event: ${message.kind}\ndata: ${JSON.stringify(message.detail ?? {})}\n\n`);
      const unsubscribe = hub.subscribe({
        machineId: machine.machine_id,
        primaryUser: machine.primary_user,
        tags: JSON.parse(machine.tags) as string[],
        send,
      });
      const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
      request.raw.on('close', () => {
        clearInterval(heartbeat);
        unsubscribe();
      });
    },
  );
}
