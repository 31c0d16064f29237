// POST /api/v1/machines/:machine_id/posture with the machine's token: a Gatehouse extension
// beside Santa's protocol (Santa servers never see it). The console's side is in
// routes/console/posture.ts.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { parsePostureResult, type PostureResult } from '../../../common/posture';
import { machineOf } from '../../plugins/machine-auth';
import { MachineParams, PostureStored, Refusals } from '../../schemas/machine';
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

export async function postureRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const schema = { params: MachineParams, response: { 200: PostureStored, ...Refusals } };
  app.post('/api/v1/machines/:machine_id/posture', { schema }, async (request, reply) => {
    const results = parseDelivery(request.body);
    if (typeof results === 'string') return reply.code(400).send({ error: results });
    await app.repos.posture.replace(machineOf(request).machine_id, results);
    return { stored: results.length };
  });
}
