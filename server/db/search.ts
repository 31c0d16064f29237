// Search helpers that mean the same on SQLite and PostgreSQL: case-insensitive substring
// matching (SQLite's LIKE ignores ASCII case, PostgreSQL's does not, so both sides are lowered)
// and pages of a bounded size.
import { sql, type RawBuilder } from 'kysely';

/** `column` contains `needle`, ignoring case; %, _ and ! in the needle match themselves. */
export function containsText(column: string, needle: string): RawBuilder<boolean> {
  const pattern = `%${needle.toLowerCase().replace(/[!%_]/g, (c) => `!${c}`)}%`;
  return sql<boolean>`lower(${sql.ref(column)}) LIKE ${pattern} ESCAPE '!'`;
}

export interface Page {
  readonly limit: number;
  readonly offset: number;
}

export interface PageOf<T> {
  readonly rows: T[];
  readonly total: number;
}
