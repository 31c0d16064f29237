// Queries built and compiled by Kysely once, then run with new values: for the few queries every
// sync request makes (the machine read that authenticates it, the preflight and postflight
// updates, the versions a preflight fixes). Kysely builds a tree of frozen nodes and compiles it
// to SQL on every call; in a busy server that, not the database, was most of what each of those
// queries cost (bench:server's SQLite round trips: from about 0.33 of Fastify alone to 0.45 with
// these queries compiled once). No library does this for Kysely, hence this file.
//
// How: the query is built once with a marker in place of each value, compiled for the dialect in
// use, and each marker is found in the compiled parameters. A run sends that SQL text with the
// values put where their markers were, so the text, the placeholders and their order are
// Kysely's own on SQLite and on PostgreSQL alike.
import { CompiledQuery, type Compilable, type Kysely } from 'kysely';

/** Stands for the value named `name` while the query is built. */
class Marker {
  constructor(readonly name: string) {}
}

/** Where a compiled parameter's value comes from: a named value, or a constant of the query. */
type Source = { readonly name: string } | { readonly constant: unknown };

/**
 * A query of `values` (named, as `build` reads them) that is built and compiled at its first run
 * only. `build` must use each value as a value (compared with `=` or `<`, set, inserted), never
 * where Kysely decides the SQL by the value: an `if` on it, a list spread into `in`, `is` (a null
 * is written `is null`, a marker `is ?`), or the object form `eb.and({ column: value })`. It sees
 * markers, not values.
 */
export function prepared<V extends Record<string, unknown>, R>(
  db: Pick<Kysely<unknown>, 'executeQuery'>,
  build: (values: V) => Compilable<R>,
): (values: V) => Promise<R[]> {
  let compiled: { readonly sql: string; readonly sources: readonly Source[] } | undefined;
  return async (values) => {
    if (!compiled) {
      const markers = new Proxy({} as V, {
        get: (_target, name) => (typeof name === 'string' ? new Marker(name) : undefined),
      });
      const query = build(markers).compile();
      const sources = query.parameters.map((parameter): Source =>
        parameter instanceof Marker ? { name: parameter.name } : { constant: parameter },
      );
      compiled = { sql: query.sql, sources };
    }
    const parameters = compiled.sources.map((source) => {
      if ('constant' in source) return source.constant;
      const value = values[source.name];
      if (value === undefined)
        throw new Error(
          `prepared query: no value for ${source.name} (${compiled!.sql}); pass every value the query reads, null for SQL NULL`,
        );
      return value;
    });
    const result = await db.executeQuery<R>(CompiledQuery.raw(compiled.sql, parameters));
    return result.rows;
  };
}
