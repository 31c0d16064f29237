// Logging in to the console: argon2id passwords (db/users.ts), a session cookie (HttpOnly,
// SameSite=Strict, path /console) and the session's CSRF token, which the console sends back on
// every change. Single sign-on and the logout of either kind of session are in sso.ts.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { consoleUserOf, localLoginAllowed, SESSION_COOKIE } from '../../plugins/console-session';
import { loginLimiter } from '../../plugins/login-limit';
import { Failure, Login, Me } from '../../schemas/console';
import { ssoRoutes } from './sso';

const LOGIN_BODY_LIMIT = 8 * 1024;

export async function sessionRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const me = { response: { 200: Me, '4xx': Failure } };
  const users = app.repos.users;
  const limiter = await loginLimiter(app);
  await app.register(ssoRoutes);

  app.post(
    '/console/api/login',
    // A login is a few hundred bytes: a larger body is refused before it is parsed.
    { config: { public: true }, bodyLimit: LOGIN_BODY_LIMIT, schema: { body: Login, ...me } },
    async (request, reply) => {
      const { username, password } = request.body;
      if (app.sso?.options.localLogin === 'off')
        return reply
          .code(403)
          .send({ error: 'password logins are off here: sign in with single sign-on' });
      const refused = await limiter.refuse(request, username);
      if (refused)
        return reply
          .code(429)
          .header('retry-after', String(refused.retryAfterS))
          .send({
            error: `too many failed logins; try again in ${Math.ceil(refused.retryAfterS / 60)} minutes`,
          });
      const session = await users.login(username, password, Date.now());
      if (!session) return reply.code(401).send({ error: 'wrong username or password' });
      await limiter.succeeded(request, username);
      if (!localLoginAllowed(app.sso, session.user.role)) {
        await users.logout(session.sessionId);
        return reply.code(403).send({
          error:
            'only break-glass admin accounts may log in with a password here: sign in with single sign-on',
        });
      }
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

  app.get('/console/api/me', { schema: me }, async (request) => {
    const user = consoleUserOf(request);
    return { username: user.username, role: user.role, csrfToken: user.csrfToken };
  });
}
