// The console's pages (app-pages.ts): out/console under /console. Its images may be data: URLs.
import type { FastifyInstance } from 'fastify';
import { appPages } from './app-pages';

export async function consolePages(
  app: FastifyInstance,
  { consoleDir }: { consoleDir: string },
): Promise<void> {
  await appPages(app, { name: 'console', dir: consoleDir, csp: { imgSrc: ["'self'", 'data:'] } });
}
