// Posture results. Machine side: POST /api/v1/machines/:id/posture with the machine's token, a
// Gatehouse extension beside Santa's protocol (Santa servers never see it). Console side, for
// viewers: fleet posture per check, the machines behind each count, and one machine's results.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parsePostureResult, type PostureResult, type PostureStatus } from '../../common/posture';
import type { Repositories } from '../app';
import type { Role } from '../db/users';

export type ConsoleGuard = (
  role: Role,
) => (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

const STATUSES: readonly PostureStatus[] = ['pass', 'fail', 'unknown'];
export const MAX_RESULTS = 100;

/** The delivered results, or a message saying what is wrong with them. */
export function parseDelivery(body: unknown): PostureResult[] | string {
  const results = (body as { results?: unknown } | null)?.results;
  if (typeof body !== 'object' || body === null || !Array.isArray(results))
    return 'posture: the body must be {"results": [...]}';
  if (results.length > MAX_RESULTS)
    return `posture: at most ${MAX_RESULTS} results, got ${results.length}`;
  const parsed: PostureResult[] = [];
  const seen = new Set<string>();
  for (const [index, raw] of results.entries()) {
    const result = parsePostureResult(raw);
    if (!result)
      return `posture: results[${index}] must be {id, title, status: pass|fail|unknown, evidence, remediation, checkedAt}, with texts of at most 2000 characters`;
    if (seen.has(result.id))
      return `posture: results[${index}] repeats the check id "${result.id}"`;
    seen.add(result.id);
    parsed.push(result);
  }
  return parsed;
}

export function registerPostureRoutes(app: FastifyInstance, repos: Repositories): void {
  app.post<{ Params: { id: string } }>('/api/v1/machines/:id/posture', async (request, reply) => {
    const header = request.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    const machine = token ? await repos.machines.authenticate(request.params.id, token) : undefined;
    if (!machine)
      return reply.code(401).send({
        error: `a token for machine ${request.params.id} is required: Authorization: Bearer <token from enrollment>`,
      });
    const results = parseDelivery(request.body);
    if (typeof results === 'string') return reply.code(400).send({ error: results });
    await repos.posture.replace(machine.machine_id, results);
    return { stored: results.length };
  });
}

export function registerPostureConsoleRoutes(
  app: FastifyInstance,
  repos: Repositories,
  guard: ConsoleGuard,
): void {
  app.get('/console/api/posture', { preHandler: guard('viewer') }, async () =>
    repos.posture.fleet(),
  );

  app.get<{ Params: { check: string }; Querystring: { status?: string } }>(
    '/console/api/posture/:check/machines',
    { preHandler: guard('viewer') },
    async (request, reply) => {
      const status = request.query.status as PostureStatus;
      if (!STATUSES.includes(status))
        return reply.code(400).send({ error: `status must be one of ${STATUSES.join(', ')}` });
      return { machines: await repos.posture.machines(request.params.check, status) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/console/api/machines/:id/posture',
    { preHandler: guard('viewer') },
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
