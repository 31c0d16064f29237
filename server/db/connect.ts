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
  type SqliteStatement,
} from 'kysely';
import pg from 'pg';
import { migrationProvider } from './migrations';
import type { Database } from './schema';

export type Db = Kysely<Database>;

/** Builds a row object from better-sqlite3's raw row (an array, in column order). */
type RowMaker = (values: unknown[]) => Record<string, unknown>;

/**
 * A row maker for these columns: an object literal of fixed shape, made once per statement.
 * better-sqlite3 builds each row object key by key, which costs about as much again as reading
 * the row; a literal of known keys is half that (a machine's row: 11 µs read as objects, 6 µs
 * read raw and made here). Keys are JSON string literals of SQLite's own column names, so the
 * generated text holds no code of anyone's; duplicate names keep the last, as better-sqlite3 does.
 * A column named __proto__ is written as a computed key, which makes it a property of the row
 * rather than the row's prototype.
 */
function rowMaker(columns: readonly string[]): RowMaker {
  const fields = columns.map((name, i) =>
    name === '__proto__' ? `["__proto__"]: values[${i}]` : `${JSON.stringify(name)}: values[${i}]`,
  );
  return new Function('values', `return { ${fields.join(', ')} };`) as RowMaker;
}

/**
 * A statement as Kysely's SQLite driver uses it, with rows made by rowMaker. Its columns are read
 * once: the server's migrations run before its first query, and no other process changes the
 * schema of a running server's file. Should the number of columns change all the same (SQLite
 * prepares `SELECT *` again after a schema change), the maker is made again from the new ones.
 */
function adapt(statement: Sqlite.Statement): SqliteStatement {
  if (!statement.reader) return statement as unknown as SqliteStatement;
  const columnsNow = () => statement.columns().map((column) => column.name);
  let width = statement.columns().length;
  let make = rowMaker(columnsNow());
  const row = (values: unknown[]) => {
    if (values.length !== width) {
      width = values.length;
      make = rowMaker(columnsNow());
    }
    return make(values);
  };
  const raw = statement.raw(true);
  return {
    reader: true,
    all: (parameters) => (raw.all(parameters) as unknown[][]).map(row),
    run: (parameters) => raw.run(parameters),
    *iterate(parameters) {
      for (const values of raw.iterate(parameters) as IterableIterator<unknown[]>)
        yield row(values);
    },
  };
}

/**
 * Kysely prepares every query afresh; on SQLite that compile is most of a small query's cost.
 * The same SQL text gets the same prepared statement back (at most 500 kept, the least recently
 * used goes first). Safe because the SQLite driver runs each statement to completion before the
 * next begins.
 */
function withStatementCache(sqlite: Sqlite.Database): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => sqlite.close(),
    prepare(text: string) {
      let statement = cache.get(text);
      if (statement) {
        cache.delete(text); // most recently used goes last
      } else {
        statement = adapt(sqlite.prepare(text));
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
