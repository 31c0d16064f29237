// The employee portal's API under /portal/api: sign-in through the identity provider, one
// blocked program as the machine reported it, the person's requests, filing one and answering
// the helpdesk. Every route but the sign-in needs a portal session; every action is audited with
// the provider's subject; nothing answers about a machine or request that is not the person's.
import { randomUUID } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { signInRoutes } from '../../auth/sign-in-routes';
import { audit } from '../../db/audit';
import { RequestError } from '../../db/requests';
import { IdParams } from '../../schemas/console';
import {
  Blocked,
  BlockedQuery,
  Failure,
  NewPortalRequest,
  PortalCreated,
  PortalMe,
  PortalReply,
  PortalRequest,
  PortalRequestList,
  SHA256,
} from '../../schemas/portal';
import { authenticatePortal, personOf, PORTAL_COOKIE } from './auth';
import { blockedFor, requestsOf } from './lookup';

const NOT_YOURS =
  'no block of this program for you on this machine: open the link from the block dialog on your own computer, or wait a minute if it just happened (the machine reports blocks when it syncs)';

/** An audit entry for a portal action, with the provider's subject as the actor. */
function auditPortal(request: FastifyRequest, action: string, target: string, details = {}) {
  const person = personOf(request);
  return audit(request.server.db, {
    actor: `sso:${person.subject}`,
    action,
    target,
    details: { via: 'portal', user: person.username, ...details },
  });
}

/** The block the query names, when it is the caller's; a 4xx that says what is wrong otherwise. */
async function requireBlocked(
  request: FastifyRequest,
  sha: string | undefined,
  machine: string | undefined,
) {
  if (!sha || sha.startsWith('%'))
    throw new RequestError(
      400,
      'the link names no program: it needs sha=%file_identifier% (the file’s SHA-256)',
    );
  if (!new RegExp(SHA256).test(sha))
    throw new RequestError(400, 'the link’s sha is not a SHA-256 (64 hexadecimal digits)');
  if (!machine || machine.startsWith('%'))
    throw new RequestError(400, 'the link names no machine: it needs machine=%machine_id%');
  const { db, repos } = request.server;
  const blocked = await blockedFor(
    db,
    repos,
    personOf(request).username,
    sha.toLowerCase(),
    machine,
  );
  if (!blocked) {
    await auditPortal(request, 'portal.refused', `machine:${machine.slice(0, 256)}`, {
      sha256: sha,
    });
    throw new RequestError(404, NOT_YOURS);
  }
  return blocked;
}

/** Signing in and out, and who is signed in. */
function portalSession(app: FastifyInstance): void {
  signInRoutes(app, {
    app: 'portal',
    cookie: PORTAL_COOKIE,
    identify: (sso, person) => {
      const username = sso.portalUserOf(person.claims);
      return username ? { username, role: null } : undefined;
    },
    nobody:
      'your account carries no user name Gatehouse can match to your computer; ask IT to check the single sign-on mapping',
  });

  app.get(
    '/portal/api/me',
    { schema: { response: { 200: PortalMe, '4xx': Failure } } },
    async (request) => {
      const person = personOf(request);
      return { username: person.username, csrfToken: person.csrfToken };
    },
  );
}

export async function portalApi(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.addHook('onRequest', authenticatePortal);
  const refusals = { '4xx': Failure };
  portalSession(app);

  app.get(
    '/portal/api/blocked',
    { schema: { querystring: BlockedQuery, response: { 200: Blocked, ...refusals } } },
    async (request) => {
      const blocked = await requireBlocked(request, request.query.sha, request.query.machine);
      await auditPortal(request, 'portal.view', `machine:${blocked.machine.id}`, {
        sha256: blocked.program.sha256,
      });
      return blocked;
    },
  );

  app.get(
    '/portal/api/requests',
    { schema: { response: { 200: PortalRequestList, ...refusals } } },
    async (request) => ({
      requests: await requestsOf(app.db, app.repos, personOf(request).username),
    }),
  );

  app.post(
    '/portal/api/requests',
    {
      schema: {
        body: NewPortalRequest,
        response: { 200: PortalCreated, 201: PortalCreated, ...refusals },
      },
    },
    async (request, reply) => fileRequest(request, reply, request.body),
  );

  app.post(
    '/portal/api/requests/:id/reply',
    {
      schema: {
        params: IdParams,
        body: PortalReply,
        response: { 200: PortalRequest, ...refusals },
      },
    },
    async (request) => {
      const person = personOf(request);
      const id = /^\d{1,12}$/.test(request.params.id) ? Number(request.params.id) : undefined;
      const [mine] = id ? await requestsOf(app.db, app.repos, person.username, { id }) : [];
      if (!mine) throw new RequestError(404, `you have no request ${request.params.id}`);
      const text = request.body.body.trim();
      if (!text) throw new RequestError(400, 'body: write an answer');
      await app.repos.requests.reply(mine.id, mine.machine_id, { body: text });
      await auditPortal(request, 'portal.reply', `request:${mine.id}`);
      return (await requestsOf(app.db, app.repos, person.username, { id: mine.id }))[0]!;
    },
  );
}

/** Files a request for a block of the caller's, or joins the open one for the same file. */
async function fileRequest(request: FastifyRequest, reply: FastifyReply, body: NewPortalRequest) {
  const blocked = await requireBlocked(request, body.sha, body.machine);
  const justification = body.justification.trim();
  if (justification.length < 10)
    throw new RequestError(400, 'justification: say in at least 10 characters why you need it');
  if (blocked.allowed)
    throw new RequestError(
      409,
      `${blocked.program.name} is already allowed on this machine: run it again`,
    );
  const { repos, db } = request.server;
  const person = personOf(request);
  const open = await repos.requests.openFor(
    blocked.machine.id,
    blocked.program.sha256,
    person.username,
  );
  if (open) {
    await auditPortal(request, 'portal.request.join', `request:${open.id}`);
    const [joined] = await requestsOf(db, repos, person.username, { id: open.id });
    return reply.code(200).send({ request: joined!, joined: true });
  }
  const { row } = await repos.requests.create(
    blocked.machine.id,
    {
      client_request_id: `portal:${randomUUID()}`,
      requester: person.username,
      file_sha256: blocked.program.sha256,
      file_path: blocked.program.path,
      file_name: blocked.program.name,
      decision: blocked.decision,
      execution_time: blocked.blocked_at / 1000,
      justification,
    },
    Date.now(),
    `sso:${person.subject}`,
  );
  const [created] = await requestsOf(db, repos, person.username, { id: row.id });
  return reply.code(201).send({ request: created!, joined: false });
}
