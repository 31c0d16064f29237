// GET /api/v1/machines/:machine_id/stream: Server-Sent Events for one machine, authenticated by
// its token (routes/machine/index.ts). The agent answers "rules changed" with a rule sync,
// "request updated" with a sync. The hub (../../push.ts) holds one stream per machine and at
// most its limit in all; past that the answer is a 429 with Retry-After. Every tokenCheckMs the
// held streams' tokens are compared with their machines', and a stream whose token was replaced
// (re-enrollment) or whose machine is gone is closed.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { machineOf } from '../../plugins/machine-auth';
import { StreamCapReached, type PushMessage } from '../../push';
import { MachineParams } from '../../schemas/machine';

const HEARTBEAT_MS = 25_000;

/** The current token hash of each of these machines. */
async function tokenHashes(app: FastifyInstance, ids: string[]): Promise<Map<string, string>> {
  const rows = await app.db
    .selectFrom('machines')
    .select(['machine_id', 'token_hash'])
    .where('machine_id', 'in', ids)
    .execute();
  return new Map(rows.map((row) => [row.machine_id, row.token_hash]));
}

/** Checks the held streams' tokens every tokenCheckMs while the server runs. */
function sweepTokens(app: FastifyInstance): void {
  const hub = app.repos.push;
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    hub
      .sweep((ids) => tokenHashes(app, ids))
      .catch((error: Error) => app.log.warn(`push streams: token check failed: ${error.message}`))
      .finally(() => (running = false));
  }, hub.tokenCheckMs);
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));
}

export async function streamRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const hub = app.repos.push;
  sweepTokens(app);
  app.get(
    '/api/v1/machines/:machine_id/stream',
    { schema: { params: MachineParams } },
    async (request, reply) => {
      const machine = machineOf(request);
      const raw = reply.raw;
      const send = (message: PushMessage) =>
        raw.write(`event: ${message.kind}\ndata: ${JSON.stringify(message.detail ?? {})}\n\n`);
      let unsubscribe: () => void;
      try {
        unsubscribe = hub.subscribe({
          machineId: machine.machine_id,
          primaryUser: machine.primary_user,
          tags: JSON.parse(machine.tags) as string[],
          tokenHash: machine.token_hash,
          send,
          close: (why) => raw.end(`: closed: ${why}\n\n`),
        });
      } catch (error) {
        if (!(error instanceof StreamCapReached)) throw error;
        request.server.limitHit('push_streams');
        return reply
          .code(429)
          .header('retry-after', String(error.retryAfterS))
          .send({ error: error.message });
      }
      reply.hijack();
      raw.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      raw.write(': connected\n\n');
      const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
      // Ended by the machine or by the hub (replaced, token changed): either way it is gone.
      const gone = () => {
        clearInterval(heartbeat);
        unsubscribe();
      };
      raw.on('close', gone);
      // A machine that hung up while it was being authenticated is gone already.
      if (request.raw.socket.destroyed) gone();
    },
  );
}
