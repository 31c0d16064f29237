// Queries compiled once and run with new values (server/db/prepared.ts), on both engines: each
// run gets its own values in the places Kysely put them, constants of the query stay, a value
// left out is an error that names it, and a machine update leaves the columns it was not given.
import { beforeAll, describe, expect, it } from 'vitest';
import { prepared } from '../../../../server/db/prepared';
import { useStarted } from '../../../helpers/scratch';
import { ENGINES, startTestServer } from '../../../helpers/server';

describe.each(ENGINES)('prepared queries on %s', (engine) => {
  const server = useStarted(() => startTestServer(engine));

  beforeAll(async () => {
    for (const id of ['p-1', 'p-2', 'p-3'])
      await server.repos.machines.enroll(id, { hostname: `host-${id}`, primary_user: 'ann' });
  });

  it('runs with each call its own values, in the order the SQL takes them', async () => {
    let built = 0;
    const find = prepared(server.db, (v: { user: string; after: string }) => {
      built++;
      return (
        server.db
          .selectFrom('machines')
          .select(['machine_id', 'hostname'])
          // A constant of the query (not a named value) is kept as it is.
          .where('identity', '=', 'agent')
          .where('machine_id', '>', v.after)
          .where('primary_user', '=', v.user)
          .orderBy('machine_id')
      );
    });
    expect(await find({ user: 'ann', after: 'p-1' })).toEqual([
      { machine_id: 'p-2', hostname: 'host-p-2' },
      { machine_id: 'p-3', hostname: 'host-p-3' },
    ]);
    expect((await find({ user: 'ann', after: 'p-2' })).map((r) => r.machine_id)).toEqual(['p-3']);
    expect(await find({ user: 'bob', after: '' })).toEqual([]);
    expect(built).toBe(1);
  });

  it('says which value a run left out, and runs nothing', async () => {
    const rename = prepared(server.db, (v: { name: string; id: string }) =>
      server.db.updateTable('machines').set({ hostname: v.name }).where('machine_id', '=', v.id),
    );
    await expect(rename({ id: 'p-1' } as { name: string; id: string })).rejects.toThrow(
      /no value for name/,
    );
    expect((await server.repos.machines.get('p-1'))?.hostname).toBe('host-p-1');
  });

  it('updates a machine by the columns given, leaving the others and other machines', async () => {
    const machines = server.repos.machines;
    await machines.update('p-1', { hostname: 'one', os_version: '14.1' });
    await machines.update('p-1', { hostname: 'uno', os_version: undefined, rules_hash: null });
    await machines.update('p-2', { os_version: '13' });
    expect(await machines.get('p-1')).toMatchObject({
      hostname: 'uno',
      os_version: '14.1',
      rules_hash: null,
    });
    expect(await machines.get('p-2')).toMatchObject({ hostname: 'host-p-2', os_version: '13' });
    expect(await machines.get('nobody')).toBeUndefined();
  });
});
