// The Fastify application: plugins first, then routes. server.ts only boots it.
import { join } from 'node:path';
import cookie from '@fastify/cookie';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Db } from './db/connect';
import { BODY_LIMIT, bodyDecoding } from './plugins/body';
import { errors } from './plugins/errors';
import { createRepositories, repositories, type Repositories } from './plugins/repositories';
import { PushHub } from './push';
import { consolePages } from './routes/console-pages';
import { consoleApi } from './routes/console/index';
import { enrollRoutes } from './routes/machine/enroll';
import { machineRoutes } from './routes/machine/index';
import type { SantaOptions } from './routes/machine/santa';

export type { Repositories } from './plugins/repositories';

export interface AppOptions extends Partial<SantaOptions> {
  readonly db: Db;
  readonly enrollmentSecret: string;
  readonly logger?: boolean;
  /** Set on PostgreSQL, so that pushes reach machines connected to any server process. */
  readonly push?: PushHub;
  /** The built console (default: out/console in this checkout). */
  readonly consoleDir?: string;
}

export function buildApp(options: AppOptions): { app: FastifyInstance; repos: Repositories } {
  // Push streams are long-lived: closing the server must not wait for them.
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: BODY_LIMIT,
    forceCloseConnections: true,
    // A schema checks types, never converts them: a password sent as a number is refused, not
    // turned into text.
    ajv: { customOptions: { coerceTypes: false } },
  });
  const repos = createRepositories(options.db, options.push ?? new PushHub());
  void app.register(repositories, { db: options.db, repos });
  void app.register(errors);
  void app.register(bodyDecoding);
  void app.register(cookie);
  void app.register(enrollRoutes, { enrollmentSecret: options.enrollmentSecret });
  void app.register(machineRoutes, {
    pageSize: options.pageSize ?? 1000,
    batchSize: options.batchSize ?? 50,
    fullSyncIntervalS: options.fullSyncIntervalS ?? 600,
    ...(options.eventDetailUrl ? { eventDetailUrl: options.eventDetailUrl } : {}),
  });
  void app.register(consoleApi);
  void app.register(consolePages, {
    consoleDir: options.consoleDir ?? join(import.meta.dirname, '../out/console'),
  });
  return { app, repos };
}
