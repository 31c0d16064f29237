// The repositories' shared query helpers on both engines: a count and a page of the same
// filtered query agree, and BIGINT columns read as numbers (PostgreSQL hands them over as
// strings) while a NULL stays NULL. And SQLite's rows, made from raw rows (server/db/connect.ts):
// plain objects of their columns whatever the names, following a change of the columns.
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { countOf, withNumbers } from '../../../../server/db/rows';
import { pageOf } from '../../../../server/db/search';
import { useStarted } from '../../../helpers/scratch';
import { ENGINES, startTestServer } from '../../../helpers/server';

const ENROLLED_AT = 1_700_000_000_000;

describe.each(ENGINES)('query helpers on %s', (engine) => {
  const server = useStarted(() => startTestServer(engine));

  beforeAll(async () => {
    for (const id of ['mac-1', 'mac-2', 'mac-3', 'other-1'])
      await server.repos.machines.enroll(id, { hostname: `host-${id}` }, ENROLLED_AT);
  });

  const macs = () => server.db.selectFrom('machines').where('machine_id', 'like', 'mac-%');

  it('counts the rows a filtered query selects', async () => {
    expect(await countOf(macs())).toBe(3);
    expect(await countOf(server.db.selectFrom('machines'))).toBe(4);
    expect(await countOf(macs().where('machine_id', '=', 'nobody'))).toBe(0);
  });

  it('pages what a query selects and counts all of it', async () => {
    const byId = (query: ReturnType<typeof macs>) =>
      query.select(['machine_id', 'hostname']).orderBy('machine_id');
    expect(await pageOf(macs(), { limit: 2, offset: 1 }, byId)).toEqual({
      rows: [
        { machine_id: 'mac-2', hostname: 'host-mac-2' },
        { machine_id: 'mac-3', hostname: 'host-mac-3' },
      ],
      total: 3,
    });
    expect(await pageOf(macs(), { limit: 2, offset: 5 }, byId)).toEqual({ rows: [], total: 3 });
  });

  it('reads BIGINT columns as numbers and leaves NULL alone', async () => {
    const row = await macs()
      .select(['machine_id', 'enrolled_at', 'last_sync_at'])
      .where('machine_id', '=', 'mac-1')
      .executeTakeFirstOrThrow();
    expect(withNumbers(row, 'enrolled_at', 'last_sync_at')).toStrictEqual({
      machine_id: 'mac-1',
      enrolled_at: ENROLLED_AT,
      last_sync_at: null,
    });
  });
});

// SQLite rows are made from raw rows by a generated object literal (server/db/connect.ts).
describe('rows as SQLite gives them', () => {
  const server = useStarted(() => startTestServer('sqlite'));

  it('are plain objects of their columns, whatever the columns are named', async () => {
    const { rows } = await sql<Record<string, unknown>>`
      SELECT 1 AS "__proto__", 2 AS "a""b", 3 AS "x", 4 AS "x", 'y' AS "}; throw 1; //"
    `.execute(server.db);
    const row = rows[0]!;
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    expect(Object.keys(row)).toEqual(['__proto__', 'a"b', 'x', '}; throw 1; //']);
    expect(Object.getOwnPropertyDescriptor(row, '__proto__')?.value).toBe(1);
    expect(row['a"b']).toBe(2);
    expect(row.x).toBe(4);
    expect(row['}; throw 1; //']).toBe('y');
    // Many rows, each its own object.
    for (const id of ['raw-1', 'raw-2', 'raw-3']) await server.repos.machines.enroll(id, {});
    const many = await server.db
      .selectFrom('machines')
      .select(['machine_id'])
      .orderBy('machine_id')
      .execute();
    expect(many).toEqual([
      { machine_id: 'raw-1' },
      { machine_id: 'raw-2' },
      { machine_id: 'raw-3' },
    ]);
    expect(new Set(many).size).toBe(3);
  });

  it('follow a change of the columns a kept statement selects', async () => {
    await sql`CREATE TABLE scratch_columns (a INTEGER, b TEXT, c TEXT)`.execute(server.db);
    await sql`INSERT INTO scratch_columns VALUES (1, 'B', 'C')`.execute(server.db);
    const all = () =>
      server.db
        .selectFrom('scratch_columns' as never)
        .selectAll()
        .execute();
    expect(await all()).toEqual([{ a: 1, b: 'B', c: 'C' }]);
    await sql`ALTER TABLE scratch_columns DROP COLUMN b`.execute(server.db);
    expect(await all()).toEqual([{ a: 1, c: 'C' }]);
  });
});
