// The audit log, read-only: filter by who, what, which target or machine and when; newest first,
// a page at a time (`before` is the cursor the previous page returned as `next`).
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { listAudit } from '../../db/audit';
import { RequestError } from '../../db/requests';
import { AuditPage } from '../../schemas/console';
import { onlyKnown, optionalInteger, optionalText, optionalTime, queryOf } from './input';

export async function auditRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const schema = { response: { 200: AuditPage } };
  app.get('/console/api/audit', { config: { role: 'helpdesk' }, schema }, async (request) => {
    const query = queryOf(request.query);
    onlyKnown(query, ['actor', 'action', 'target', 'machine', 'from', 'to', 'before', 'limit']);
    const action = optionalText(query, 'action', 64);
    if (action !== undefined && !/^[a-z]+(\.[a-z-]+)*$/.test(action))
      throw new RequestError(
        400,
        `action must be an action name like rule.create, or a family like rule; got "${action}"`,
      );
    const from = optionalTime(query, 'from');
    const to = optionalTime(query, 'to');
    if (from !== undefined && to !== undefined && from > to)
      throw new RequestError(400, 'from must not be after to');
    const actor = optionalText(query, 'actor');
    const target = optionalText(query, 'target');
    const machine = optionalText(query, 'machine');
    const before = optionalInteger(query, 'before', 1, Number.MAX_SAFE_INTEGER);
    return listAudit(
      app.db,
      {
        ...(actor ? { actor } : {}),
        ...(action ? { action } : {}),
        ...(target ? { target } : {}),
        ...(machine ? { machine } : {}),
        ...(from !== undefined ? { from } : {}),
        ...(to !== undefined ? { to } : {}),
        ...(before !== undefined ? { before } : {}),
      },
      optionalInteger(query, 'limit', 1, 500) ?? 100,
    );
  });
}
