// The repositories' shared query helpers on both engines: a count and a page of the same
// filtered query agree, and BIGINT columns read as numbers (PostgreSQL hands them over as
// strings) while a NULL stays NULL.
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
