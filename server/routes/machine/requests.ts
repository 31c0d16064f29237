// Approval requests, machine side (Authorization: Bearer <machine token>): create one from a
// blocked event, list the machine's own, read one, answer the helpdesk's question. A machine
// never sees another machine's requests.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { normalizeKeys, optionalString, SantaRequestError } from '../../common/santa';
import type { Repositories } from '../app';
import { RequestError, type RequestRow } from '../db/requests';

export const JUSTIFICATION_MAX = 2000;

export function registerRequestRoutes(app: FastifyInstance, repos: Repositories): void {
  async function machineOf(
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<string | undefined> {
    const header = request.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    const machineId = token ? await repos.machines.tokenOwner(token) : undefined;
    if (!machineId) {
      await reply.code(401).send({
        error: 'a machine token is required: Authorization: Bearer <token from enrollment>',
      });
      return undefined;
    }
    return machineId;
  }

  const view = async (row: RequestRow) => ({
    id: row.id,
    client_request_id: row.client_request_id,
    requester: row.requester,
    state: row.state,
    file_sha256: row.file_sha256,
    file_name: row.file_name,
    file_path: row.file_path,
    justification: row.justification,
    created_at: Number(row.created_at),
    updated_at: Number(row.updated_at),
    messages: (await repos.requests.messages(row.id)).map((m) => ({
      author: m.author,
      author_name: m.author_name,
      body: m.body,
      at: Number(m.created_at),
    })),
  });

  const fail = (reply: FastifyReply, error: unknown) => {
    if (error instanceof SantaRequestError) return reply.code(400).send({ error: error.message });
    if (error instanceof RequestError)
      return reply.code(error.status).send({ error: error.message });
    throw error;
  };

  app.post('/api/v1/requests', async (request, reply) => {
    const machineId = await machineOf(request, reply);
    if (!machineId) return reply;
    try {
      const where = 'requests';
      const body = normalizeKeys(request.body, where);
      const event = normalizeKeys(body.event, `${where}: event`);
      const sha = optionalString(event, 'file_sha256', `${where}: event`, 64);
      if (!sha || !/^[0-9a-fA-F]{64}$/.test(sha))
        throw new SantaRequestError(
          `${where}: event.file_sha256 must be a SHA-256 (64 hex digits)`,
        );
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
      const { row, created } = await repos.requests.create(machineId, {
        client_request_id: clientId,
        requester,
        file_sha256: sha.toLowerCase(),
        file_path: optionalString(event, 'file_path', `${where}: event`, 4096) ?? '',
        file_name: optionalString(event, 'file_name', `${where}: event`, 1024) ?? '',
        decision: optionalString(event, 'decision', `${where}: event`, 64) ?? 'BLOCK_UNKNOWN',
        execution_time: typeof time === 'number' && Number.isFinite(time) ? time : null,
        justification,
      });
      return reply.code(created ? 201 : 200).send(await view(row));
    } catch (error) {
      return fail(reply, error);
    }
  });

  app.get<{ Querystring: { requester?: string } }>('/api/v1/requests', async (request, reply) => {
    const machineId = await machineOf(request, reply);
    if (!machineId) return reply;
    const rows = await repos.requests.listForMachine(machineId, request.query.requester);
    return { requests: await Promise.all(rows.map(view)) };
  });

  app.get<{ Params: { id: string } }>('/api/v1/requests/:id', async (request, reply) => {
    const machineId = await machineOf(request, reply);
    if (!machineId) return reply;
    const row = /^\d+$/.test(request.params.id)
      ? await repos.requests.get(Number(request.params.id))
      : undefined;
    if (!row || row.machine_id !== machineId)
      return reply.code(404).send({ error: `no request ${request.params.id} from this machine` });
    return view(row);
  });

  app.post<{ Params: { id: string } }>('/api/v1/requests/:id/reply', async (request, reply) => {
    const machineId = await machineOf(request, reply);
    if (!machineId) return reply;
    try {
      const body = normalizeKeys(request.body, 'reply');
      const text = optionalString(body, 'body', 'reply', JUSTIFICATION_MAX)?.trim();
      const requester = optionalString(body, 'requester', 'reply', 256);
      if (!text || !requester)
        throw new SantaRequestError('reply: requester and body are required');
      if (!/^\d+$/.test(request.params.id))
        throw new RequestError(404, `no request ${request.params.id} from this machine`);
      return await view(
        await repos.requests.reply(Number(request.params.id), machineId, { requester, body: text }),
      );
    } catch (error) {
      return fail(reply, error);
    }
  });
}
