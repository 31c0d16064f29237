// The employee portal: its API (/portal/api, behind the portal session hook) and its pages
// (app-pages.ts: out/portal under /portal).
import type { FastifyInstance } from 'fastify';
import { appPages } from '../app-pages';
import { portalApi } from './api';

export async function portal(app: FastifyInstance, options: { portalDir: string }): Promise<void> {
  await app.register(portalApi);
  await app.register(appPages, { name: 'portal', dir: options.portalDir });
}
