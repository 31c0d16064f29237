// `npm run server`: boots the backend on 127.0.0.1:8080 (GATEHOUSE_SERVER_HOST/PORT), with its
// SQLite data in GATEHOUSE_DATA_DIR (./data). Only booting belongs here.
import { randomBytes } from 'node:crypto';
import { PRODUCT_VERSION } from '../common/version';
import { buildApp } from './app';
import { serverCapacity } from './capacity';
import { ssoFromEnv } from './auth/sso-config';
import { openServerDatabase } from './db/connect';
import { PushHub } from './push';
import { tlsFromEnv } from './tls-config';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function logLevel(env: NodeJS.ProcessEnv): string {
  const level = env.GATEHOUSE_LOG_LEVEL ?? 'warn';
  if (!LOG_LEVELS.includes(level))
    throw new Error(
      `server: GATEHOUSE_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`,
    );
  return level;
}

export async function startServer(env: NodeJS.ProcessEnv = process.env) {
  const host = env.GATEHOUSE_SERVER_HOST ?? '127.0.0.1';
  const port = Number(env.GATEHOUSE_SERVER_PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(
      `server: GATEHOUSE_SERVER_PORT must be a port number, got "${env.GATEHOUSE_SERVER_PORT}"`,
    );
  }
  // Read before anything starts, so that a wrong TLS setting stops the server with its reason.
  const tls = tlsFromEnv(env);
  const capacity = serverCapacity(env);
  const secret = env.GATEHOUSE_ENROLLMENT_SECRET ?? randomBytes(18).toString('base64url');
  const db = await openServerDatabase(env.GATEHOUSE_DATA_DIR ?? './data', env.DATABASE_URL);
  // On PostgreSQL, pushes reach machines connected to any server process (LISTEN/NOTIFY).
  const push = new PushHub(env.DATABASE_URL, { maxStreams: capacity.maxStreams });
  await push.start();
  const sso = ssoFromEnv(env);
  const built = buildApp({
    db,
    enrollmentSecret: secret,
    push,
    // JSON lines (pino) on stdout: warnings and errors unless GATEHOUSE_LOG_LEVEL says more.
    logger: { level: logLevel(env) },
    metricsToken: env.GATEHOUSE_METRICS_TOKEN,
    maxMachines: capacity.maxMachines,
    ...(sso ? { sso } : {}),
    ...(tls ?? {}),
  });
  const { app } = built;
  app.addHook('onClose', async () => {
    await push.stop();
  });
  // The first start creates the admin account; its password is shown once (or comes from the env).
  let adminPassword: string | undefined;
  if ((await built.repos.users.count()) === 0) {
    adminPassword = env.GATEHOUSE_ADMIN_PASSWORD ?? randomBytes(15).toString('base64url');
    await built.repos.users.create('admin', adminPassword, 'admin', 'server:first-start');
  }
  const address = await app.listen({ host, port });
  return {
    app,
    db,
    repos: built.repos,
    address,
    secret,
    generatedSecret: env.GATEHOUSE_ENROLLMENT_SECRET === undefined,
    adminPassword,
    adminPasswordFromEnv: env.GATEHOUSE_ADMIN_PASSWORD !== undefined,
    capacity,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const {
      app,
      db,
      address,
      secret,
      generatedSecret,
      adminPassword,
      adminPasswordFromEnv,
      capacity,
    } = await startServer();
    console.log(`gatehouse-server ${PRODUCT_VERSION} listening on ${address}`);
    for (const note of capacity.notes) console.log(`  ${note}`);
    console.log(`  helpdesk console: ${address}/console`);
    if (adminPassword && !adminPasswordFromEnv)
      console.log(`  first start: user admin, password ${adminPassword} (shown once; change it)`);
    console.log(`  Santa sync base URL: ${address}/santa/`);
    console.log(
      '  stock Santa clients: SyncExtraHeaders {"Authorization": "Bearer <enrollment secret>"} (server/README.md)',
    );
    console.log(
      `  enrollment secret: ${generatedSecret ? `${secret} (generated for this run; set GATEHOUSE_ENROLLMENT_SECRET to keep one)` : 'from GATEHOUSE_ENROLLMENT_SECRET'}`,
    );
    const stop = async () => {
      await app.close();
      await db.destroy();
      process.exit(0);
    };
    process.once('SIGTERM', () => void stop());
    process.once('SIGINT', () => void stop());
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 1;
  }
}
