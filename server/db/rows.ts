// One row by its key, the same way in every repository, optionally locked for the transaction
// that reads it so that no other change to it interleaves.
import { PostgresAdapter, type Kysely, type Selectable } from 'kysely';
import type { Database } from './schema';

/** Row locks where the engine has them (PostgreSQL); SQLite runs one transaction at a time anyway. */
export const lockRows = (db: Pick<Kysely<unknown>, 'getExecutor'>) =>
  db.getExecutor().adapter instanceof PostgresAdapter;

type Table = keyof Database;
type Row<T extends Table> = Selectable<Database[T]>;

/** The row of `table` whose `column` (a unique key) is `value`; `lock` inside a transaction. */
export async function rowBy<T extends Table, C extends keyof Row<T> & string>(
  db: Kysely<Database>,
  table: T,
  column: C,
  value: Row<T>[C],
  options: { lock?: boolean } = {},
): Promise<Row<T> | undefined> {
  // Kysely cannot follow a column name through a generic table; the signature above checks it.
  const untyped = db as unknown as Kysely<Record<string, Record<string, string | number>>>;
  const row = await untyped
    .selectFrom(table)
    .selectAll()
    .where(column as string, '=', value as string | number)
    .$if(options.lock === true && lockRows(db), (query) => query.forUpdate())
    .executeTakeFirst();
  return row as Row<T> | undefined;
}
