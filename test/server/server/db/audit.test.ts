// The audit log's machine filter on both engines: everything about one machine, its own settings
// profile included, and nothing about another machine whose id merely starts the same way.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../../../../server/db/audit';
import { ENGINES, startTestServer, type TestServer } from '../../../helpers/server';

describe.each(ENGINES)('audit log filter on %s', (engine) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(engine);
    for (const id of ['mac-7', 'mac-70']) await server.repos.machines.enroll(id, {});
  }, 60_000);
  afterAll(() => server?.close());

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
