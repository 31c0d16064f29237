// The helpdesk console's API under /console/api and its pages under /console. A session cookie
// (HttpOnly, SameSite=Strict) says who is logged in; every state-changing call also carries the
// session's CSRF token; roles: viewer (reads), helpdesk (decides requests), admin (also rules).
import { existsSync, readFileSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Repositories } from '../app';
import { audit } from '../db/audit';
import type { Db } from '../db/connect';
import { RequestError, type ApprovalScope, type RequestState } from '../db/requests';
import type { Role, SessionUser } from '../db/users';
import { registerPostureConsoleRoutes } from './posture';

const COOKIE = 'gh_session';
const RANK: Record<Role, number> = { viewer: 0, helpdesk: 1, admin: 2 };
const LOGIN_LIMIT = { attempts: 5, windowMs: 15 * 60_000 };
const EXPIRY: Record<string, number | null> = {
  none: null,
  '1h': 3600_000,
  '1d': 86_400_000,
  '1w': 604_800_000,
};
const STATES: readonly RequestState[] = ['pending', 'needs-info', 'approved', 'denied'];

declare module 'fastify' {
  interface FastifyRequest {
    consoleUser?: SessionUser;
  }
}

export function registerConsoleRoutes(
  app: FastifyInstance,
  db: Db,
  repos: Repositories,
  consoleDir: string,
): void {
  const users = repos.users;
  const failures = new Map<string, { count: number; since: number }>();
  void app.register(cookie);

  const guard =
    (role: Role) =>
    async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
      const sessionId = request.cookies?.[COOKIE];
      const user = sessionId ? await users.session(sessionId) : undefined;
      if (!user) return void (await reply.code(401).send({ error: 'log in first' }));
      if (request.method !== 'GET' && request.headers['x-csrf-token'] !== user.csrfToken) {
        return void (await reply
          .code(403)
          .send({ error: 'missing or wrong CSRF token: reload the console' }));
      }
      if (RANK[user.role] < RANK[role])
        return void (await reply
          .code(403)
          .send({ error: `this needs the ${role} role; you are ${user.role}` }));
      request.consoleUser = user;
    };
  const body = (request: FastifyRequest) =>
    typeof request.body === 'object' && request.body !== null
      ? (request.body as Record<string, unknown>)
      : {};
  const text = (value: unknown, what: string, max = 2000) => {
    if (typeof value !== 'string' || !value.trim() || value.length > max)
      throw new RequestError(400, `${what} is required (at most ${max} characters)`);
    return value.trim();
  };
  const handle = async <T>(reply: FastifyReply, work: () => Promise<T>) => {
    try {
      return await work();
    } catch (error) {
      if (error instanceof RequestError)
        return reply.code(error.status).send({ error: error.message });
      throw error;
    }
  };

  app.post('/console/api/login', async (request, reply) => {
    const { username, password } = body(request);
    if (typeof username !== 'string' || typeof password !== 'string')
      return reply.code(400).send({ error: 'username and password are required' });
    const key = `${request.ip}|${username.toLowerCase()}`;
    const now = Date.now();
    const failed = failures.get(key);
    if (
      failed &&
      now - failed.since < LOGIN_LIMIT.windowMs &&
      failed.count >= LOGIN_LIMIT.attempts
    ) {
      return reply.code(429).send({ error: 'too many failed logins; wait 15 minutes' });
    }
    const session = await users.login(username, password, now);
    if (!session) {
      const entry =
        failed && now - failed.since < LOGIN_LIMIT.windowMs ? failed : { count: 0, since: now };
      entry.count++;
      failures.set(key, entry);
      return reply.code(401).send({ error: 'wrong username or password' });
    }
    failures.delete(key);
    void reply.setCookie(COOKIE, session.sessionId, {
      httpOnly: true,
      sameSite: 'strict',
      secure: request.protocol === 'https',
      path: '/console',
      maxAge: 12 * 3600,
    });
    return {
      username: session.user.username,
      role: session.user.role,
      csrfToken: session.user.csrfToken,
    };
  });

  app.post('/console/api/logout', { preHandler: guard('viewer') }, async (request, reply) => {
    await users.logout(request.cookies[COOKIE]!);
    void reply.clearCookie(COOKIE, { path: '/console' });
    return { ok: true };
  });

  app.get('/console/api/me', { preHandler: guard('viewer') }, async (request) => ({
    username: request.consoleUser!.username,
    role: request.consoleUser!.role,
    csrfToken: request.consoleUser!.csrfToken,
  }));

  app.get<{ Querystring: { state?: string } }>(
    '/console/api/requests',
    { preHandler: guard('viewer') },
    async (request, reply) => {
      const state = (request.query.state ?? 'pending') as RequestState;
      if (!STATES.includes(state))
        return reply.code(400).send({ error: `state must be one of ${STATES.join(', ')}` });
      const rows = await repos.requests.queue(state);
      return {
        requests: rows.map((row) => ({
          ...row,
          created_at: Number(row.created_at),
          updated_at: Number(row.updated_at),
        })),
      };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/console/api/requests/:id',
    { preHandler: guard('viewer') },
    async (request, reply) => {
      const row = /^\d+$/.test(request.params.id)
        ? await repos.requests.get(Number(request.params.id))
        : undefined;
      if (!row) return reply.code(404).send({ error: `no request ${request.params.id}` });
      const [messages, prevalence, binary, machine, earlier] = await Promise.all([
        repos.requests.messages(row.id),
        repos.events.prevalence(row.file_sha256),
        repos.events.binary(row.file_sha256),
        repos.machines.get(row.machine_id),
        db
          .selectFrom('approval_requests')
          .select(['id', 'state', 'machine_id', 'requester', 'created_at'])
          .where('file_sha256', '=', row.file_sha256)
          .where('id', '!=', row.id)
          .orderBy('id', 'desc')
          .limit(20)
          .execute(),
      ]);
      return {
        request: { ...row, created_at: Number(row.created_at), updated_at: Number(row.updated_at) },
        messages: messages.map((m) => ({ ...m, created_at: Number(m.created_at) })),
        prevalence,
        binary: binary ?? null,
        machine: machine
          ? {
              machine_id: machine.machine_id,
              hostname: machine.hostname,
              primary_user: machine.primary_user,
              client_mode: machine.client_mode,
              os_version: machine.os_version,
              last_sync_at: machine.last_sync_at === null ? null : Number(machine.last_sync_at),
            }
          : null,
        earlier: earlier.map((e) => ({ ...e, created_at: Number(e.created_at) })),
      };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/console/api/requests/:id/approve',
    { preHandler: guard('helpdesk') },
    async (request, reply) =>
      handle(reply, async () => {
        const { scope, expires, message } = body(request);
        if (scope !== 'machine' && scope !== 'user' && scope !== 'global')
          throw new RequestError(400, 'scope must be machine, user or global');
        let expiresAt: number | null;
        if (typeof expires === 'number' && Number.isInteger(expires) && expires > Date.now())
          expiresAt = expires;
        else if (typeof expires === 'string' && expires in EXPIRY)
          expiresAt = EXPIRY[expires] === null ? null : Date.now() + EXPIRY[expires]!;
        else if (expires === undefined) expiresAt = null;
        else
          throw new RequestError(
            400,
            'expires must be none, 1h, 1d, 1w or a future time in milliseconds',
          );
        return repos.requests.approve(Number(request.params.id), {
          scope: scope as ApprovalScope,
          expiresAt,
          actor: request.consoleUser!.username,
          ...(typeof message === 'string' && message.trim() ? { message: message.trim() } : {}),
        });
      }),
  );

  app.post<{ Params: { id: string } }>(
    '/console/api/requests/:id/deny',
    { preHandler: guard('helpdesk') },
    async (request, reply) =>
      handle(reply, async () =>
        repos.requests.deny(Number(request.params.id), {
          actor: request.consoleUser!.username,
          message: text(body(request).message, 'message'),
        }),
      ),
  );

  app.post<{ Params: { id: string } }>(
    '/console/api/requests/:id/ask',
    { preHandler: guard('helpdesk') },
    async (request, reply) =>
      handle(reply, async () =>
        repos.requests.ask(Number(request.params.id), {
          actor: request.consoleUser!.username,
          question: text(body(request).question, 'question'),
        }),
      ),
  );

  app.get<{ Querystring: { action?: string } }>(
    '/console/api/audit',
    { preHandler: guard('helpdesk') },
    async (request) => {
      let query = db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(500);
      if (request.query.action) query = query.where('action', '=', request.query.action);
      return {
        entries: (await query.execute()).map((e) => ({
          ...e,
          at: Number(e.at),
          details: JSON.parse(e.details) as unknown,
        })),
      };
    },
  );

  app.get('/console/api/machines', { preHandler: guard('viewer') }, async () => ({
    machines: (
      await db
        .selectFrom('machines')
        .select([
          'machine_id',
          'hostname',
          'primary_user',
          'client_mode',
          'os_version',
          'agent_version',
          'last_sync_at',
          'rule_counts',
        ])
        .orderBy('machine_id')
        .execute()
    ).map((m) => ({
      ...m,
      last_sync_at: m.last_sync_at === null ? null : Number(m.last_sync_at),
      rule_counts: JSON.parse(m.rule_counts) as unknown,
    })),
  }));

  app.post('/console/api/rules', { preHandler: guard('admin') }, async (request, reply) =>
    handle(reply, async () => {
      const b = body(request);
      const identifier = text(b.identifier, 'identifier', 512);
      const ruleType = b.rule_type ?? 'BINARY';
      if (ruleType === 'BINARY' && !/^[0-9a-fA-F]{64}$/.test(identifier))
        throw new RequestError(400, 'a BINARY rule needs a SHA-256 (64 hex digits)');
      if (
        !['ALLOWLIST', 'BLOCKLIST', 'SILENT_BLOCKLIST', 'ALLOWLIST_COMPILER'].includes(
          String(b.policy),
        )
      )
        throw new RequestError(
          400,
          'policy must be ALLOWLIST, ALLOWLIST_COMPILER, BLOCKLIST or SILENT_BLOCKLIST',
        );
      const scope = b.scope ?? 'global';
      if (scope !== 'global' && scope !== 'machine' && scope !== 'user' && scope !== 'tag')
        throw new RequestError(400, 'scope must be global, machine, user or tag');
      const id = await repos.rules.put({
        identifier: ruleType === 'BINARY' ? identifier.toLowerCase() : identifier,
        rule_type: String(ruleType),
        policy: String(b.policy),
        scope,
        scope_value: scope === 'global' ? null : text(b.scope_value, 'scope_value', 256),
        custom_msg: typeof b.custom_msg === 'string' ? b.custom_msg : null,
        comment: typeof b.comment === 'string' ? b.comment : null,
        created_by: request.consoleUser!.username,
      });
      await audit(db, {
        actor: request.consoleUser!.username,
        action: 'rule.create',
        target: `rule:${id}`,
        details: { identifier, policy: b.policy, scope },
      });
      return { id };
    }),
  );

  app.delete<{ Params: { id: string } }>(
    '/console/api/rules/:id',
    { preHandler: guard('admin') },
    async (request, reply) => {
      if (
        !/^\d+$/.test(request.params.id) ||
        !(await repos.rules.remove(Number(request.params.id)))
      )
        return reply.code(404).send({ error: `no rule ${request.params.id}` });
      await audit(db, {
        actor: request.consoleUser!.username,
        action: 'rule.remove',
        target: `rule:${request.params.id}`,
      });
      return { removed: true };
    },
  );

  registerPostureConsoleRoutes(app, repos, guard);

  // The console's pages: the built Svelte app, with a strict CSP.
  const TYPES: Record<string, string> = {
    '.html': 'text/html; charset=utf-8',
    '.js': 'text/javascript; charset=utf-8',
    '.css': 'text/css; charset=utf-8',
    '.svg': 'image/svg+xml',
  };
  const page = async (request: FastifyRequest, reply: FastifyReply) => {
    const wanted = (request.params as { '*'?: string })['*'] || 'index.html';
    let file = normalize(join(consoleDir, wanted));
    if (!file.startsWith(consoleDir + sep) || !existsSync(file))
      file = join(consoleDir, 'index.html');
    if (!existsSync(file))
      return reply.code(503).type('text/plain').send('the console is not built: run npm run build');
    return reply
      .header(
        'content-security-policy',
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
      )
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .type(TYPES[extname(file)] ?? 'application/octet-stream')
      .send(readFileSync(file));
  };
  app.get('/console', page);
  app.get('/console/*', page);
}
