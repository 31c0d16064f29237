// Prometheus metrics at GET /metrics (prom-client): the latency of each Santa sync stage and of
// every other route, the push streams held and the fan-out latency of a push, every limit that
// refused a caller, how long the database takes to answer, and Node's own process metrics (RSS,
// descriptors, event-loop lag). The registry belongs to one app, so several apps in one process
// (tests) count apart.
//
// Who may read it: with GATEHOUSE_METRICS_TOKEN set, a caller presenting
// `Authorization: Bearer <that token>`; without it, callers on this machine's loopback only
// (a scraper beside the server). Anyone else gets a 401 or 403 that says which.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { sql } from 'kysely';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { LimitError, type LimitName } from '../db/limits';
import type { PushHub } from '../push';

declare module 'fastify' {
  interface FastifyInstance {
    /** Counts a caller refused by a limit (gatehouse_limit_hits_total). */
    limitHit(limit: LimitName): void;
  }
}

export interface MetricsOptions {
  readonly push: PushHub;
  /** GATEHOUSE_METRICS_TOKEN: the bearer token a scraper presents; unset, loopback only. */
  readonly token?: string | undefined;
}

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The sync stage of a Santa route (`/santa/preflight/:machine_id` → preflight). */
const stageOf = (route: string) => /^\/santa\/([a-z]+)\//.exec(route)?.[1];

function routeMetrics(app: FastifyInstance, registry: Registry): void {
  const stages = new Histogram({
    name: 'gatehouse_sync_stage_duration_seconds',
    help: 'Time to answer each stage of a Santa sync, by stage and status',
    labelNames: ['stage', 'status'],
    buckets: SECONDS,
    registers: [registry],
  });
  const routes = new Histogram({
    name: 'gatehouse_http_request_duration_seconds',
    help: 'Time to answer every other request, by route, method and status',
    labelNames: ['route', 'method', 'status'],
    buckets: SECONDS,
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    // Unmatched URLs share one label, so that a scanner cannot grow the label set.
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    const status = String(reply.statusCode);
    const stage = stageOf(route);
    if (stage) stages.observe({ stage, status }, seconds);
    else routes.observe({ route, method: request.method, status }, seconds);
  });
}

function pushMetrics(push: PushHub, registry: Registry): void {
  new Gauge({
    name: 'gatehouse_push_streams_held',
    help: 'Push streams this process holds',
    registers: [registry],
    collect() {
      this.set(push.connected);
    },
  });
  new Gauge({
    name: 'gatehouse_push_streams_limit',
    help: 'Push streams this process holds at most (GATEHOUSE_MAX_STREAMS)',
    registers: [registry],
    collect() {
      this.set(push.maxStreams);
    },
  });
  const fanout = new Histogram({
    name: 'gatehouse_push_fanout_seconds',
    help: 'From a push being published (on any process) to its streams here having it',
    buckets: SECONDS,
    registers: [registry],
  });
  const delivered = new Counter({
    name: 'gatehouse_push_messages_delivered_total',
    help: 'Push messages written to streams',
    registers: [registry],
  });
  const closed = new Counter({
    name: 'gatehouse_push_streams_closed_total',
    help: 'Streams the server closed: replaced by the same machine, or their token changed',
    labelNames: ['reason'],
    registers: [registry],
  });
  push.observer = {
    fanout(seconds, count) {
      fanout.observe(seconds);
      delivered.inc(count);
    },
    closed: (reason) => closed.inc({ reason }),
  };
}

/** How long the database takes to answer a trivial query: pool waits show here first. */
function databaseMetrics(app: FastifyInstance, registry: Registry): void {
  new Gauge({
    name: 'gatehouse_db_probe_seconds',
    help: 'Time for SELECT 1 through the connection pool, taken at each scrape (-1: it failed)',
    registers: [registry],
    async collect() {
      const started = performance.now();
      try {
        await sql`SELECT 1`.execute(app.db);
        this.set((performance.now() - started) / 1000);
      } catch {
        this.set(-1);
      }
    },
  });
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A 401/403 when the caller may not read the metrics; undefined when it may. */
function refusal(request: FastifyRequest, token: string | undefined) {
  if (token === undefined) {
    return LOOPBACK.has(request.ip)
      ? undefined
      : {
          status: 403,
          error:
            'metrics are served to this machine only (set GATEHOUSE_METRICS_TOKEN to scrape from elsewhere)',
        };
  }
  const header = request.headers.authorization ?? '';
  const given = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
  return sameToken(given, token)
    ? undefined
    : { status: 401, error: 'metrics need Authorization: Bearer <GATEHOUSE_METRICS_TOKEN>' };
}

export const metrics = fp<MetricsOptions>(
  async (app, options) => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 'gatehouse_' });
    const limits = new Counter({
      name: 'gatehouse_limit_hits_total',
      help: 'Callers refused with a 429 by a limit, by limit',
      labelNames: ['limit'],
      registers: [registry],
    });
    app.decorate('limitHit', (limit: LimitName) => limits.inc({ limit }));
    // A repository refuses with a LimitError: the caller learns when to come back.
    app.addHook('onError', async (_request, reply, error) => {
      if (!(error instanceof LimitError)) return;
      void reply.header('retry-after', String(error.retryAfterS));
      limits.inc({ limit: error.limit });
    });
    routeMetrics(app, registry);
    pushMetrics(options.push, registry);
    databaseMetrics(app, registry);
    app.get('/metrics', async (request: FastifyRequest, reply: FastifyReply) => {
      const refused = refusal(request, options.token);
      if (refused) return reply.code(refused.status).send({ error: refused.error });
      return reply.type(registry.contentType).send(await registry.metrics());
    });
  },
  { name: 'metrics', dependencies: ['repositories'] },
);
