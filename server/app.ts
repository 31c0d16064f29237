// The Fastify application: plugins first, then routes. server.ts only boots it.
import Fastify, { type FastifyInstance } from 'fastify';
import { join } from 'node:path';
import type { Db } from './db/connect';
import { UserRepository } from './db/users';
import { EventRepository } from './db/events';
import { MachineRepository } from './db/machines';
import { PostureRepository } from './db/posture';
import { RequestRepository } from './db/requests';
import { RuleRepository } from './db/rules';
import { BODY_LIMIT, registerBodyDecoding } from './plugins/body';
import { registerConsoleRoutes } from './routes/console';
import { registerEnrollRoutes } from './routes/enroll';
import { registerPostureRoutes } from './routes/posture';
import { registerRequestRoutes } from './routes/requests';
import { registerSantaRoutes, type SantaOptions } from './routes/santa';
import { registerStreamRoutes } from './routes/stream';
import { PushHub } from './push';

export interface Repositories {
  readonly machines: MachineRepository;
  readonly rules: RuleRepository;
  readonly events: EventRepository;
  readonly requests: RequestRepository;
  readonly push: PushHub;
  readonly users: UserRepository;
  readonly posture: PostureRepository;
}

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
  });
  const push = options.push ?? new PushHub();
  const repos: Repositories = {
    machines: new MachineRepository(options.db),
    rules: new RuleRepository(options.db, push),
    events: new EventRepository(options.db),
    requests: new RequestRepository(options.db, push),
    users: new UserRepository(options.db),
    posture: new PostureRepository(options.db),
    push,
  };
  registerBodyDecoding(app);
  registerEnrollRoutes(app, repos, options.enrollmentSecret);
  registerRequestRoutes(app, repos);
  registerPostureRoutes(app, repos);
  registerStreamRoutes(app, repos, push);
  registerConsoleRoutes(
    app,
    options.db,
    repos,
    options.consoleDir ?? join(import.meta.dirname, '../out/console'),
  );
  registerSantaRoutes(app, repos, {
    pageSize: options.pageSize ?? 1000,
    batchSize: options.batchSize ?? 50,
    fullSyncIntervalS: options.fullSyncIntervalS ?? 600,
    ...(options.eventDetailUrl ? { eventDetailUrl: options.eventDetailUrl } : {}),
  });
  return { app, repos };
}
