// Machines for the console: a searchable list, and one machine with its facts, the rules that
// reach it, its latest blocks and its requests.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { RequestError } from '../../db/requests';
import type { MachineSummary } from '../../db/machines';
import { consoleUserOf } from '../../plugins/console-session';
import { CleanSyncOrder, IdParams, MachineDetail, MachineList } from '../../schemas/console';
import { bodyOf, found, onlyKnown, optionalText, page, queryOf } from './input';
import { ruleView } from './rules';

const parseJson = <T>(text: string, fallback: T): T => {
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
};

export function machineView(machine: MachineSummary) {
  const ruleCounts = parseJson<Record<string, number>>(machine.rule_counts, {});
  return {
    ...machine,
    enrolled_at: Number(machine.enrolled_at),
    last_sync_at: machine.last_sync_at === null ? null : Number(machine.last_sync_at),
    rule_counts: ruleCounts,
    rule_total: Object.values(ruleCounts).reduce((sum, n) => sum + Number(n), 0),
    tags: parseJson<string[]>(machine.tags, []),
    clean_sync_pending: Number(machine.clean_requested) === 1,
    clean_all_pending: Number(machine.clean_all_requested) === 1,
  };
}

export async function machineRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const repos = app.repos;
  app.get(
    '/console/api/machines',
    { schema: { response: { 200: MachineList } } },
    async (request) => {
      const query = queryOf(request.query);
      onlyKnown(query, ['q', 'limit', 'offset']);
      const { rows, total } = await repos.machines.search(
        optionalText(query, 'q'),
        page(query, 100, 500),
      );
      return { total, machines: rows.map(machineView) };
    },
  );

  // Helpdesk and admins: the machine drops every synced rule and takes the resolved set again at
  // its next sync (a Mac that holds what it should not, after a restore or a manual santactl).
  // With {"all": true}, Santa's CLEAN_ALL: the rules the machine made itself go too.
  app.post(
    '/console/api/machines/:id/clean-sync',
    {
      config: { role: 'helpdesk' },
      schema: { params: IdParams, response: { 200: CleanSyncOrder } },
    },
    async (request) => {
      const body = bodyOf(request);
      onlyKnown(body, ['all']);
      if (body.all !== undefined && typeof body.all !== 'boolean')
        throw new RequestError(400, 'all must be true or false (true: CLEAN_ALL)');
      const all = body.all === true;
      const ordered = await repos.machines.orderCleanSync(request.params.id, {
        actor: consoleUserOf(request).username,
        reason: 'console',
        ...(all ? { all } : {}),
      });
      if (!ordered) throw new RequestError(404, `no machine ${request.params.id}`);
      return { clean_sync_pending: true as const, clean_all_pending: all };
    },
  );

  app.get(
    '/console/api/machines/:id',
    { schema: { params: IdParams, response: { 200: MachineDetail } } },
    async (request) => {
      const machine = found(
        await repos.machines.summary(request.params.id),
        `machine ${request.params.id}`,
      );
      const view = machineView(machine);
      const [rules, blocks, built, requests] = await Promise.all([
        repos.rules.resolvedFor({
          machineId: machine.machine_id,
          primaryUser: machine.primary_user,
          tags: view.tags,
        }),
        repos.events.recentBlocks(machine.machine_id, 50),
        repos.events.recentBlocks(machine.machine_id, 50, 'ALLOW_TRANSITIVE'),
        repos.requests.listForMachine(machine.machine_id, undefined, 50),
      ]);
      return {
        machine: view,
        rules: rules.map((rule) => ({ ...ruleView(rule), shadowed_by: rule.shadowed_by })),
        blocks,
        built,
        requests: requests.map((row) => ({
          id: row.id,
          state: row.state,
          requester: row.requester,
          file_name: row.file_name,
          file_sha256: row.file_sha256,
          decided_by: row.decided_by,
          created_at: Number(row.created_at),
          updated_at: Number(row.updated_at),
        })),
      };
    },
  );
}
