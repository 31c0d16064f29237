// One row by its key, the same way in every repository, optionally locked for the transaction
// that reads it so that no other change to it interleaves; how many rows a query selects; and
// the BIGINT columns PostgreSQL hands over as strings, as numbers.
import { PostgresAdapter, type Kysely, type Selectable, type SelectQueryBuilder } from 'kysely';
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

/** How many rows `query` selects. */
export async function countOf<DB, TB extends keyof DB, O>(
  query: SelectQueryBuilder<DB, TB, O>,
): Promise<number> {
  const row = await query
    .select((eb) => eb.fn.countAll().as('n'))
    // Kysely cannot follow a selection through a generic query; the count is the one column.
    .$castTo<{ n: number | string | bigint }>()
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

type WithNumbers<R, K extends keyof R> = Omit<R, K> & {
  [C in K]: null extends R[C] ? number | null : number;
};

/**
 * `row` with these columns as numbers (null stays null): PostgreSQL returns BIGINT as a string,
 * SQLite as a number.
 */
export function withNumbers<R extends object, K extends keyof R>(
  row: R,
  ...columns: K[]
): WithNumbers<R, K> {
  const converted: Record<PropertyKey, unknown> = { ...(row as Record<PropertyKey, unknown>) };
  for (const column of columns) if (row[column] !== null) converted[column] = Number(row[column]);
  return converted as WithNumbers<R, K>;
}
