// The employee portal: its API (/portal/api, behind the portal session hook) and its pages.
import type { FastifyInstance } from 'fastify';
import { portalApi } from './api';
import { portalPages } from './pages';

export async function portal(app: FastifyInstance, options: { portalDir: string }): Promise<void> {
  await app.register(portalApi);
  await app.register(portalPages, options);
}
