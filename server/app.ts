// The Fastify application: plugins first, then routes. server.ts only boots it.
import type { ServerOptions as HttpsOptions } from 'node:https';
import { join } from 'node:path';
import cookie from '@fastify/cookie';
import Fastify, { type FastifyInstance } from 'fastify';
import type { SsoOptions } from './auth/sso-config';
import type { Db } from './db/connect';
import { BODY_LIMIT, bodyDecoding } from './plugins/body';
import {
  enrollment,
  type ClientCertificates,
  type EnrollLimits,
  type TrustedProxy,
} from './plugins/enrollment';
import { errors } from './plugins/errors';
import { metrics } from './plugins/metrics';
import { singleSignOn } from './plugins/oidc';
import { createRepositories, repositories, type Repositories } from './plugins/repositories';
import { PushHub } from './push';
import { consolePages } from './routes/console-pages';
import { consoleApi } from './routes/console/index';
import { portal } from './routes/portal/index';
import { enrollRoutes } from './routes/machine/enroll';
import { machineRoutes } from './routes/machine/index';
import type { SantaOptions } from './routes/machine/santa';

export type { Repositories } from './plugins/repositories';

export interface AppOptions extends Partial<SantaOptions> {
  readonly db: Db;
  readonly enrollmentSecret: string;
  /** Fastify's pino logger: JSON lines on stdout, at this level (server.ts: GATEHOUSE_LOG_LEVEL). */
  readonly logger?: boolean | { readonly level: string };
  /** Set on PostgreSQL, so that pushes reach machines connected to any server process. */
  readonly push?: PushHub;
  /** The built console (default: out/console in this checkout). */
  readonly consoleDir?: string;
  /** The bearer token /metrics asks for (GATEHOUSE_METRICS_TOKEN); unset, loopback only. */
  readonly metricsToken?: string | undefined;
  /** Single sign-on for the console and the portal; without it, local accounts only. */
  readonly sso?: SsoOptions;
  /** The built employee portal (default: out/portal in this checkout). */
  readonly portalDir?: string;
  /** Serve HTTPS: key, cert and, for client certificates, the CA that issues them (server.ts). */
  readonly https?: HttpsOptions;
  /** Whether machines present client certificates (needs https with a `ca`). */
  readonly clientCertificates?: ClientCertificates;
  /** The enrollment throttle (default: 30 a minute per address, 600 in all). */
  readonly enrollLimits?: EnrollLimits;
  /** New machines are refused past this many (GATEHOUSE_MAX_MACHINES; default 50,000). */
  readonly maxMachines?: number;
  /** A TLS-terminating proxy: the client address it forwards, the certificate it passes on. */
  readonly trustedProxy?: TrustedProxy;
}

export function buildApp(options: AppOptions): { app: FastifyInstance; repos: Repositories } {
  // Push streams are long-lived: closing the server must not wait for them.
  // Typed as the plain HTTP server: the routes never see the difference.
  const tls = options.https ? ({ https: options.https } as object) : {};
  const proxy = options.trustedProxy ? { trustProxy: [...options.trustedProxy.addresses] } : {};
  const app = Fastify({
    ...tls,
    ...proxy,
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
  void app.register(metrics, { push: repos.push, token: options.metricsToken });
  void app.register(bodyDecoding);
  void app.register(cookie);
  void app.register(singleSignOn, options.sso ? { sso: options.sso } : {});
  void app.register(enrollment, {
    secret: options.enrollmentSecret,
    limits: options.enrollLimits,
    maxMachines: options.maxMachines,
    clientCertificates: options.clientCertificates,
    trustedProxy: options.trustedProxy,
  });
  void app.register(enrollRoutes);
  const santa: SantaOptions = {
    pageSize: options.pageSize ?? 1000,
    batchSize: options.batchSize ?? 50,
    fullSyncIntervalS: options.fullSyncIntervalS ?? 600,
    ...(options.eventDetailUrl ? { eventDetailUrl: options.eventDetailUrl } : {}),
  };
  void app.register(machineRoutes, santa);
  // The console shows each machine's settings as preflight sends them, defaults included.
  void app.register(consoleApi, { settingDefaults: santa });
  void app.register(portal, {
    portalDir: options.portalDir ?? join(import.meta.dirname, '../out/portal'),
  });
  void app.register(consolePages, {
    consoleDir: options.consoleDir ?? join(import.meta.dirname, '../out/console'),
  });
  return { app, repos };
}
