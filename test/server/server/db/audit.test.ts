// The audit log's machine filter on both engines: everything about one machine, its own settings
// profile included, and nothing about another machine whose id merely starts the same way.
import { beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../../../../server/db/audit';
import { ENGINES, startTestServer } from '../../../helpers/server';
import { useStarted } from '../../../helpers/scratch';

describe.each(ENGINES)('audit log filter on %s', (engine) => {
  const server = useStarted(() => startTestServer(engine));

  beforeAll(async () => {
    for (const id of ['mac-7', 'mac-70']) await server.repos.machines.enroll(id, {});
  });

  it("finds a machine's settings profile changes by its machine id", async () => {
    const { settings } = server.repos;
    const change = (scope: 'machine' | 'tag', value: string) =>
      settings.put({ scope, value, priority: 0, values: { batch_size: 10 } }, 'admin');
    await change('machine', 'mac-7');
    await change('machine', 'mac-70');
    await change('tag', 'mac-7');
    await settings.remove('machine', 'mac-7', 'admin');

    const { entries } = await listAudit(server.db, { machine: 'mac-7' }, 50);
    expect(entries.map((entry) => [entry.action, entry.target])).toEqual([
      ['settings.remove', 'settings:machine:mac-7'],
      ['settings.update', 'settings:machine:mac-7'],
    ]);
  });
});
