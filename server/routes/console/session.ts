// Logging in and out of the console: argon2id passwords (db/users.ts), a session cookie
// (HttpOnly, SameSite=Strict, path /console) and the session's CSRF token, which the console
// sends back on every change.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { consoleUserOf, SESSION_COOKIE } from '../../plugins/console-session';
import { loginLimiter } from '../../plugins/login-limit';
import { Failure, Login, Me } from '../../schemas/console';

export async function sessionRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const me = { response: { 200: Me, '4xx': Failure } };
  const users = app.repos.users;
  const limiter = await loginLimiter(app);

  app.post(
    '/console/api/login',
    { config: { public: true }, schema: { body: Login, ...me } },
    async (request, reply) => {
      const { username, password } = request.body;
      if (await limiter.refuse(request, username))
        return reply.code(429).send({ error: 'too many failed logins; wait 15 minutes' });
      const session = await users.login(username, password, Date.now());
      if (!session) return reply.code(401).send({ error: 'wrong username or password' });
      limiter.succeeded(request, username);
      void reply.setCookie(SESSION_COOKIE, session.sessionId, {
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
    },
  );

  app.post('/console/api/logout', async (request, reply) => {
    await users.logout(request.cookies[SESSION_COOKIE]!);
    void reply.clearCookie(SESSION_COOKIE, { path: '/console' });
    return { ok: true };
  });

  app.get('/console/api/me', { schema: me }, async (request) => {
    const user = consoleUserOf(request);
    return { username: user.username, role: user.role, csrfToken: user.csrfToken };
  });
}
