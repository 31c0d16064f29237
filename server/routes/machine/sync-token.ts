// POST /santa/xsrf/:machine_id: a sync token for a stock Santa client on the fleet credential.
// Only preflight carries the serial that identifies a Mac, so the other stages of its sync are
// tied to that preflight by a token both carry: Santa's XSRF token, which it fetches here after a
// 403 (SNTSyncStage fetchXSRFToken, X-XSRF-TOKEN), keeps for as long as its sync service runs
// and sends with every request. A token is random and proves nothing by itself: the first
// preflight that carries it and passes the machine's serial check binds it to that machine
// (db/enrollment.ts), so nothing is stored here and a caller can take as many as it likes.
import { randomBytes } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { SYNC_TOKEN_HEADER, SYNC_TOKEN_ROUTE } from '../../plugins/machine-auth';
import { MachineParams, Refusals } from '../../schemas/machine';

/** The answer's body says nothing: the token is in its X-XSRF-TOKEN header. */
const SyncToken = Type.Object({});

export async function syncTokenRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const schema = { params: MachineParams, response: { 200: SyncToken, ...Refusals } };
  app.post(SYNC_TOKEN_ROUTE, { schema }, async (_request, reply) => {
    void reply.header(SYNC_TOKEN_HEADER, randomBytes(32).toString('base64url'));
    return {};
  });
}
