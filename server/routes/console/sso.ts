// Signing in to the console through the identity provider: /console/api/sso tells the login page
// what is on; the sign-in routes (auth/sign-in-routes.ts) map the person's groups to a role and
// start the same kind of session a password login gets. Its logout ends either kind of session.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { signInRoutes } from '../../auth/sign-in-routes';
import { SESSION_COOKIE } from '../../plugins/console-session';
import { SsoStatus } from '../../schemas/sso';

export async function ssoRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/console/api/sso',
    { config: { public: true }, schema: { response: { 200: SsoStatus } } },
    async () => ({
      sso: app.sso !== undefined,
      local_login: app.sso?.options.localLogin ?? 'on',
    }),
  );

  signInRoutes(app, {
    app: 'console',
    cookie: SESSION_COOKIE,
    identify: (sso, person) => {
      const role = sso.roleOf(person.claims);
      const username = `sso:${sso.portalUserOf(person.claims) ?? person.subject}`;
      return role ? { username, role } : undefined;
    },
    nobody:
      'your account is in no group that gives access to the Gatehouse console; ask IT to add you to one',
    endLocal: (sessionId) => app.repos.users.logout(sessionId),
  });
}
