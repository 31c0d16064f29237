// Search helpers that mean the same on SQLite and PostgreSQL: case-insensitive substring
// matching (SQLite's LIKE ignores ASCII case, PostgreSQL's does not, so both sides are lowered)
// and pages of a bounded size.
import { sql, type RawBuilder, type SelectQueryBuilder } from 'kysely';
import { countOf } from './rows';

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

/**
 * A page of what `base` selects, with how many it selects in all. `select` picks the columns and
 * the order from `base` (its filters and joins); the page's limit and offset go on top.
 */
export async function pageOf<DB, TB extends keyof DB, O, PageDB, PageTB extends keyof PageDB, Row>(
  base: SelectQueryBuilder<DB, TB, O>,
  page: Page,
  select: (base: SelectQueryBuilder<DB, TB, O>) => SelectQueryBuilder<PageDB, PageTB, Row>,
): Promise<PageOf<Row>> {
  const [rows, total] = await Promise.all([
    select(base).limit(page.limit).offset(page.offset).execute(),
    countOf(base),
  ]);
  return { rows, total };
}
