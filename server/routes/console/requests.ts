// The approval queue from the console: the filtered list and one request's detail for viewers;
// approve, deny and ask for the helpdesk.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { REQUEST_STATES, type RequestState } from '../../db/requests';
import { consoleUserOf } from '../../plugins/console-session';
import { Approval, IdParams, RequestDetail, RequestList } from '../../schemas/console';
import {
  bodyOf,
  expiryOf,
  found,
  onlyKnown,
  optionalChoice,
  optionalDuration,
  optionalText,
  page,
  queryOf,
  requiredText,
} from './input';
import { machineView } from './machines';
import { ruleView } from './rules';

/** `open` is what still needs the helpdesk or the user: pending and needs-info. */
const STATE_CHOICES = [...REQUEST_STATES, 'open', 'all'] as const;
const statesOf = (state: string): readonly RequestState[] =>
  state === 'all'
    ? REQUEST_STATES
    : state === 'open'
      ? ['pending', 'needs-info']
      : [state as RequestState];

async function detail(app: FastifyInstance, id: string): Promise<RequestDetail> {
  const repos = app.repos;
  const row = found(
    /^\d+$/.test(id) ? await repos.requests.get(Number(id)) : undefined,
    `request ${id}`,
  );
  const [messages, prevalence, binary, machine, earlier, rules] = await Promise.all([
    repos.requests.messages(row.id),
    repos.events.prevalence(row.file_sha256),
    repos.events.binary(row.file_sha256),
    repos.machines.summary(row.machine_id),
    repos.requests.forFile(row.file_sha256, row.id),
    repos.rules.list({ ruleType: 'BINARY', identifier: row.file_sha256 }, { limit: 50, offset: 0 }),
  ]);
  return {
    request: { ...row, created_at: Number(row.created_at), updated_at: Number(row.updated_at) },
    messages: messages.map((m) => ({ ...m, created_at: Number(m.created_at) })),
    prevalence,
    binary: binary ?? null,
    machine: machine ? machineView(machine) : null,
    earlier: earlier.map((e) => ({
      ...e,
      created_at: Number(e.created_at),
      updated_at: Number(e.updated_at),
      rule_expires_at: e.rule_expires_at === null ? null : Number(e.rule_expires_at),
    })),
    rules: rules.rows.map(ruleView),
  };
}

export async function consoleRequestRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const repos = app.repos;
  const byId = { params: IdParams };

  app.get(
    '/console/api/requests',
    { schema: { response: { 200: RequestList } } },
    async (request) => {
      const query = queryOf(request.query);
      onlyKnown(query, ['state', 'older_than', 'newer_than', 'machine', 'user', 'limit', 'offset']);
      const state = optionalChoice(query, 'state', STATE_CHOICES) ?? 'pending';
      const olderThan = optionalDuration(query, 'older_than');
      const newerThan = optionalDuration(query, 'newer_than');
      const now = Date.now();
      const machine = optionalText(query, 'machine');
      const user = optionalText(query, 'user');
      const { rows, total } = await repos.requests.search(
        {
          states: statesOf(state),
          ...(olderThan !== undefined ? { createdUpTo: now - olderThan } : {}),
          ...(newerThan !== undefined ? { createdFrom: now - newerThan } : {}),
          ...(machine ? { machine } : {}),
          ...(user ? { user } : {}),
        },
        page(query, 200, 500),
      );
      return {
        total,
        requests: rows.map((row) => ({
          ...row,
          created_at: Number(row.created_at),
          updated_at: Number(row.updated_at),
        })),
      };
    },
  );

  app.get(
    '/console/api/requests/:id',
    { schema: { ...byId, response: { 200: RequestDetail } } },
    async (request) => detail(app, request.params.id),
  );

  const helpdesk = { config: { role: 'helpdesk' as const }, schema: byId };
  const approval = { ...helpdesk, schema: { ...byId, body: Approval } };
  app.post('/console/api/requests/:id/approve', approval, async (request) => {
    const { scope, expires, message } = request.body;
    const expiresAt = expiryOf(expires);
    return repos.requests.approve(Number(request.params.id), {
      scope,
      expiresAt,
      actor: consoleUserOf(request).username,
      ...(typeof message === 'string' && message.trim()
        ? { message: requiredText(message, 'message') }
        : {}),
    });
  });

  app.post('/console/api/requests/:id/deny', helpdesk, async (request) =>
    repos.requests.deny(Number(request.params.id), {
      actor: consoleUserOf(request).username,
      message: requiredText(bodyOf(request).message, 'message'),
    }),
  );

  app.post('/console/api/requests/:id/ask', helpdesk, async (request) =>
    repos.requests.ask(Number(request.params.id), {
      actor: consoleUserOf(request).username,
      question: requiredText(bodyOf(request).question, 'question'),
    }),
  );
}
