// The backend's database: a SQLite file by default (GATEHOUSE_DATA_DIR). Migrations run at start.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import {
  Kysely,
  Migrator,
  PostgresDialect,
  SqliteDialect,
  type Dialect,
  type SqliteDatabase,
} from 'kysely';
import pg from 'pg';
import { migrationProvider } from './migrations';
import type { Database } from './schema';

export type Db = Kysely<Database>;

/**
 * Kysely prepares every query afresh; on SQLite that compile is most of a small query's cost.
 * The same SQL text gets the same prepared statement back (at most 500 kept, oldest out).
 * Safe because the SQLite driver runs each statement to completion before the next begins.
 */
function withStatementCache(sqlite: Sqlite.Database): SqliteDatabase {
  const cache = new Map<string, Sqlite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(text: string) {
      let statement = cache.get(text);
      if (statement) {
        cache.delete(text); // most recently used goes last
      } else {
        statement = sqlite.prepare(text);
        if (cache.size >= 500) cache.delete(cache.keys().next().value!);
      }
      cache.set(text, statement);
      return statement;
    },
  };
}

/** A SQLite file in dataDir, or PostgreSQL when databaseUrl is postgres://… (DATABASE_URL). */
export async function openServerDatabase(dataDir: string, databaseUrl?: string): Promise<Db> {
  let dialect: Dialect;
  if (databaseUrl) {
    if (!/^postgres(ql)?:\/\//.test(databaseUrl)) {
      throw new Error(
        `server: DATABASE_URL must be postgres://user:password@host:port/database, got "${databaseUrl.replace(/:[^:@/]*@/, ':***@')}"`,
      );
    }
    dialect = new PostgresDialect({
      pool: (() => {
        const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
        // An idle connection the database closed (restart, failover) is replaced on next use;
        // it must not take the server down.
        pool.on('error', (error) =>
          console.error(
            `server: a database connection was lost (${error.message}); reconnecting on next use`,
          ),
        );
        return pool;
      })(),
    });
  } else {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const sqlite = new Sqlite(join(dataDir, 'gatehouse-server.db'));
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    dialect = new SqliteDialect({ database: withStatementCache(sqlite) });
  }
  const db = new Kysely<Database>({ dialect });
  const { error } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
  if (error) {
    await db.destroy();
    throw new Error(
      `server: database migration failed (${(error as Error).message ?? String(error)}); the data folder is ${dataDir}`,
    );
  }
  return db;
}
