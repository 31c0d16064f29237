// Machine identity in the console: the enrollment conflicts (a machine id claimed by something
// other than what it is bound to) for helpdesk to read and admins to approve or reject, and the
// tags in force on a machine, which only an admin sets (a machine's claimed tags are shown as
// claims). Every decision is audited by the repository in the transaction that makes it.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { ConflictRow } from '../../db/enrollment';
import { RequestError } from '../../db/requests';
import {
  ConflictDecision,
  EnrollmentConflictList,
  IdParams,
  MachineTags,
  TagClaimList,
} from '../../schemas/console';
import { consoleUserOf } from '../../plugins/console-session';
import { onlyKnown, optionalChoice, page, queryOf } from './input';

const STATES = ['pending', 'approved', 'rejected', 'used', 'all'] as const;

const parseList = (text: string): string[] => {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.map(String) : [];
  } catch {
    return [];
  }
};

function conflictView(row: ConflictRow) {
  const { bound_identity, bound_serial, bound_cert_subject, bound_hostname, ...conflict } = row;
  let claims: Record<string, unknown> = {};
  try {
    claims = JSON.parse(row.claims) as Record<string, unknown>;
  } catch {
    // shown as no claims
  }
  return {
    ...conflict,
    claims,
    created_at: Number(row.created_at),
    last_seen_at: Number(row.last_seen_at),
    decided_at: row.decided_at === null ? null : Number(row.decided_at),
    bound:
      bound_identity === null
        ? null
        : {
            identity: bound_identity,
            serial: bound_serial,
            cert_subject: bound_cert_subject,
            hostname: bound_hostname,
          },
  };
}

function conflictId(text: string): number {
  if (!/^\d{1,12}$/.test(text))
    throw new RequestError(400, `a conflict id is a whole number, got "${text.slice(0, 40)}"`);
  return Number(text);
}

export async function enrollmentRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const repo = app.enrollment.repo;
  app.get(
    '/console/api/enrollment/conflicts',
    { config: { role: 'helpdesk' }, schema: { response: { 200: EnrollmentConflictList } } },
    async (request) => {
      const query = queryOf(request.query);
      onlyKnown(query, ['state', 'limit', 'offset']);
      const state = optionalChoice(query, 'state', STATES) ?? 'pending';
      const { rows, total } = await repo.conflicts(
        state === 'all' ? undefined : state,
        page(query, 50, 200),
      );
      return { total, conflicts: rows.map(conflictView) };
    },
  );

  for (const [verb, approve] of [
    ['approve', true],
    ['reject', false],
  ] as const)
    app.post(
      `/console/api/enrollment/conflicts/:id/${verb}`,
      {
        config: { role: 'admin' },
        schema: { params: IdParams, response: { 200: ConflictDecision } },
      },
      async (request) => {
        const id = conflictId(request.params.id);
        // approved: an agent's next enrollment with its key gets through; used: rebound at once.
        const state = await repo.decide(id, approve, consoleUserOf(request).username);
        return { id, state };
      },
    );

  app.get(
    '/console/api/enrollment/tag-claims',
    { config: { role: 'helpdesk' }, schema: { response: { 200: TagClaimList } } },
    async (request) => {
      onlyKnown(queryOf(request.query), []);
      const rows = await repo.tagClaims(200);
      return {
        machines: rows.map((row) => ({
          ...row,
          tags: parseList(row.tags),
          claimed_tags: parseList(row.claimed_tags),
        })),
      };
    },
  );

  // POST like the console's other changes (its api() sends GET, POST and DELETE).
  app.post(
    '/console/api/machines/:id/tags',
    {
      config: { role: 'admin' },
      schema: { params: IdParams, body: MachineTags, response: { 200: MachineTags } },
    },
    async (request) => {
      const tags = [...new Set(request.body.tags)];
      await repo.setTags(request.params.id, tags, consoleUserOf(request).username);
      return { tags };
    },
  );
}
