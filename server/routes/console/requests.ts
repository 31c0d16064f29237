// The helpdesk console's API under /console/api and its pages under /console. A session cookie
// (HttpOnly, SameSite=Strict) says who is logged in; every state-changing call also carries the
// session's CSRF token; roles: viewer (reads), helpdesk (decides requests, reads the audit log),
// admin (also rules).
import { existsSync, readFileSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Repositories } from '../app';
import type { Db } from '../db/connect';
import {
  REQUEST_STATES,
  RequestError,
  type ApprovalScope,
  type RequestState,
} from '../db/requests';
import type { Role, SessionUser } from '../db/users';
import { registerAuditRoutes } from './console-audit';
import {
  expiryOf,
  onlyKnown,
  optionalChoice,
  optionalDuration,
  optionalText,
  page,
  queryOf,
} from './console-input';
import { machineView, registerMachineRoutes } from './console-machines';
import { registerRuleRoutes, ruleView } from './console-rules';
import { registerPostureConsoleRoutes } from './posture';

const COOKIE = 'gh_session';
const RANK: Record<Role, number> = { viewer: 0, helpdesk: 1, admin: 2 };
const LOGIN_LIMIT = { attempts: 5, windowMs: 15 * 60_000 };
/** `open` is what still needs the helpdesk or the user: pending and needs-info. */
const STATE_CHOICES = [...REQUEST_STATES, 'open', 'all'] as const;

/** What the console's route files share: the session guard and the input helpers. */
export interface ConsoleKit {
  guard(role: Role): (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  body(request: FastifyRequest): Record<string, unknown>;
  text(value: unknown, what: string, max?: number): string;
  handle<T>(reply: FastifyReply, work: () => Promise<T>): Promise<T | FastifyReply>;
}

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

  app.get('/console/api/requests', { preHandler: guard('viewer') }, async (request, reply) =>
    handle(reply, async () => {
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
          states:
            state === 'all'
              ? REQUEST_STATES
              : state === 'open'
                ? ['pending', 'needs-info']
                : [state as RequestState],
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
    }),
  );

  app.get<{ Params: { id: string } }>(
    '/console/api/requests/:id',
    { preHandler: guard('viewer') },
    async (request, reply) => {
      const row = /^\d+$/.test(request.params.id)
        ? await repos.requests.get(Number(request.params.id))
        : undefined;
      if (!row) return reply.code(404).send({ error: `no request ${request.params.id}` });
      const [messages, prevalence, binary, machine, earlier, rules] = await Promise.all([
        repos.requests.messages(row.id),
        repos.events.prevalence(row.file_sha256),
        repos.events.binary(row.file_sha256),
        repos.machines.summary(row.machine_id),
        repos.requests.forFile(row.file_sha256, row.id),
        repos.rules.list(
          { ruleType: 'BINARY', identifier: row.file_sha256 },
          { limit: 50, offset: 0 },
        ),
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
        const expiresAt = expiryOf(expires);
        return repos.requests.approve(Number(request.params.id), {
          scope: scope as ApprovalScope,
          expiresAt,
          actor: request.consoleUser!.username,
          ...(typeof message === 'string' && message.trim()
            ? { message: text(message, 'message') }
            : {}),
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

  const kit: ConsoleKit = { guard, body, text, handle };
  registerAuditRoutes(app, db, kit);
  registerMachineRoutes(app, repos, kit);
  registerRuleRoutes(app, repos, kit);

  registerPostureConsoleRoutes(app, repos, guard);

  // The console's pages: the built Svelte app, with a strict CSP.
  const TYPES: Record<string, string> = {
    '.html': 'text/html; charset=utf-8',
    '.js': 'text/javascript; charset=utf-8',
    '.css': 'text/css; charset=utf-8',
    '.svg': 'image/svg+xml',
  };
  const servePage = async (request: FastifyRequest, reply: FastifyReply) => {
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
  app.get('/console', servePage);
  app.get('/console/*', servePage);
}
