// A machine's file access (FAA) events for the console, newest first: what Santa's file access
// authorization denied or audited there, as the Mac uploaded it.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { FileAccessEventList, IdParams } from '../../schemas/console';
import { knownMachine, onlyKnown, page, queryOf } from './input';

export async function fileAccessRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const repos = app.repos;
  app.get(
    '/console/api/machines/:id/file-access',
    { schema: { params: IdParams, response: { 200: FileAccessEventList } } },
    async (request) => {
      const query = queryOf(request.query);
      onlyKnown(query, ['limit', 'offset']);
      await knownMachine(repos.machines, request.params.id);
      return repos.fileAccess.list(request.params.id, page(query, 50, 200));
    },
  );
}
