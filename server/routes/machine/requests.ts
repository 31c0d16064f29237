// Approval requests, machine side (Authorization: Bearer <machine token>): create one from a
// blocked event, list the machine's own, read one, answer the helpdesk's question. A machine
// never sees another machine's requests. A machine has one open request per file and
// MACHINE_REQUESTS_PER_HOUR new ones an hour (db/requests.ts); past that, a 429 with
// Retry-After (plugins/metrics.ts counts it).
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { normalizeKeys, optionalString, SantaRequestError } from '../../../common/santa';
import { RequestError, type RequestRow } from '../../db/requests';
import { machineOf } from '../../plugins/machine-auth';
import { IdParams } from '../../schemas/console';
import {
  MachineRequestList,
  MachineRequestQuery,
  MachineRequestView,
  Refusals,
} from '../../schemas/machine';
import { requesterView } from '../requester-view';

export const JUSTIFICATION_MAX = 2000;

/** Create one from a blocked event; an agent resending the same client_request_id gets it back. */
async function createRequest(request: FastifyRequest, repos: FastifyInstance['repos']) {
  const where = 'requests';
  const body = normalizeKeys(request.body, where);
  const event = normalizeKeys(body.event, `${where}: event`);
  const sha = optionalString(event, 'file_sha256', `${where}: event`, 64);
  if (!sha || !/^[0-9a-fA-F]{64}$/.test(sha))
    throw new SantaRequestError(`${where}: event.file_sha256 must be a SHA-256 (64 hex digits)`);
  const justification = optionalString(body, 'justification', where, JUSTIFICATION_MAX)?.trim();
  if (!justification)
    throw new SantaRequestError(
      `${where}: justification is required (at most ${JUSTIFICATION_MAX} characters)`,
    );
  const clientId = optionalString(body, 'client_request_id', where, 128);
  if (!clientId) throw new SantaRequestError(`${where}: client_request_id is required`);
  const requester = optionalString(body, 'requester', where, 256);
  if (!requester) throw new SantaRequestError(`${where}: requester is required`);
  const time = event.execution_time;
  return repos.requests.create(machineOf(request).machine_id, {
    client_request_id: clientId,
    requester,
    file_sha256: sha.toLowerCase(),
    file_path: optionalString(event, 'file_path', `${where}: event`, 4096) ?? '',
    file_name: optionalString(event, 'file_name', `${where}: event`, 1024) ?? '',
    decision: optionalString(event, 'decision', `${where}: event`, 64) ?? 'BLOCK_UNKNOWN',
    execution_time: typeof time === 'number' && Number.isFinite(time) ? time : null,
    justification,
  });
}

export async function requestRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const one = { response: { 200: MachineRequestView, 201: MachineRequestView, ...Refusals } };
  const repos = app.repos;
  const view = async (row: RequestRow): Promise<MachineRequestView> => ({
    ...(await requesterView(repos.requests, row)),
    client_request_id: row.client_request_id,
    requester: row.requester,
  });

  app.post('/api/v1/requests', { schema: one }, async (request, reply) => {
    const { row, created } = await createRequest(request, repos);
    return reply.code(created ? 201 : 200).send(await view(row));
  });

  app.get(
    '/api/v1/requests',
    {
      schema: {
        querystring: MachineRequestQuery,
        response: { 200: MachineRequestList, ...Refusals },
      },
    },
    async (request) => {
      const machineId = machineOf(request).machine_id;
      const rows = await repos.requests.listForMachine(machineId, request.query.requester);
      return { requests: await Promise.all(rows.map(view)) };
    },
  );

  app.get(
    '/api/v1/requests/:id',
    { schema: { params: IdParams, ...one } },
    async (request, reply) => {
      const machineId = machineOf(request).machine_id;
      const row = /^\d+$/.test(request.params.id)
        ? await repos.requests.get(Number(request.params.id))
        : undefined;
      if (!row || row.machine_id !== machineId)
        return reply.code(404).send({ error: `no request ${request.params.id} from this machine` });
      return view(row);
    },
  );

  app.post(
    '/api/v1/requests/:id/reply',
    { schema: { params: IdParams, ...one } },
    async (request) => {
      const machineId = machineOf(request).machine_id;
      const body = normalizeKeys(request.body, 'reply');
      const text = optionalString(body, 'body', 'reply', JUSTIFICATION_MAX)?.trim();
      // `requester` may still be sent (older agents do); the reply is labelled with the
      // request's own user whatever it says.
      optionalString(body, 'requester', 'reply', 256);
      if (!text) throw new SantaRequestError('reply: body is required');
      if (!/^\d+$/.test(request.params.id))
        throw new RequestError(404, `no request ${request.params.id} from this machine`);
      return view(await repos.requests.reply(Number(request.params.id), machineId, { body: text }));
    },
  );
}
