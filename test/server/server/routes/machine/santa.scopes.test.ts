// Overlapping rules and membership changes, played by a stock Santa client over real HTTP: after
// every sync the client holds exactly what the console says reaches it (issue 16, items 1 and 2).
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { auditEntries } from '../../../../helpers/audit';
import type { SantaClient } from '../../../../helpers/santa-client';
import { changeOwner, heldLines, setTags, startSantaFleet } from '../../../../helpers/santa-fleet';
import { callConsole } from '../../../../helpers/console-api';
import { ENGINES } from '../../../../helpers/server';
import { useStarted } from '../../../../helpers/scratch';

let next = 0x5c0e;
const fresh = () => (next++).toString(16).padStart(64, '0');

describe.each(ENGINES)('rule scopes over Santa sync on %s', (engine) => {
  const fleet = useStarted(() => startSantaFleet(engine));

  const put = (
    identifier: string,
    policy: string,
    scope: 'global' | 'user' | 'tag' | 'machine',
    scopeValue?: string,
    extra: Record<string, unknown> = {},
  ) =>
    fleet.server.repos.rules.put({
      identifier,
      rule_type: 'BINARY',
      policy,
      scope,
      scope_value: scopeValue ?? null,
      created_by: 'test',
      ...extra,
    });

  /** A sync, then the client's rules must be the console's view of what reaches it. */
  async function syncAndCompare(client: SantaClient) {
    const report = await client.sync();
    expect(heldLines(client)).toEqual(await fleet.reaching(client.options.machineId));
    return report;
  }

  it('a machine block over a global allow: removing the block gives the allow back, not nothing', async () => {
    const mac = await fleet.mac('overlap-1');
    const target = fresh();
    await put(target, 'ALLOWLIST', 'global');
    const block = await put(target, 'BLOCKLIST', 'machine', 'overlap-1');
    await syncAndCompare(mac);
    expect(mac.rule(target)?.policy).toBe('BLOCKLIST');
    await fleet.server.repos.rules.remove(block);
    const report = await syncAndCompare(mac);
    expect(report.syncType).toBe('NORMAL');
    expect(report.received).toEqual([
      { identifier: target, rule_type: 'BINARY', policy: 'ALLOWLIST' },
    ]);
    expect(mac.rule(target)?.policy).toBe('ALLOWLIST');
  });

  it('the narrower scope wins whatever arrives last; a wider change under it sends nothing', async () => {
    const mac = await fleet.mac('overlap-2', { primaryUser: 'ada', tags: ['lab'] });
    const target = fresh();
    await put(target, 'BLOCKLIST', 'machine', 'overlap-2', { custom_msg: 'machine says no' });
    await syncAndCompare(mac);
    await put(target, 'ALLOWLIST', 'tag', 'lab');
    await put(target, 'ALLOWLIST', 'user', 'ada');
    await put(target, 'ALLOWLIST', 'global');
    const report = await syncAndCompare(mac);
    expect(report.received).toEqual([]);
    expect(mac.rule(target)).toMatchObject({ policy: 'BLOCKLIST', custom_msg: 'machine says no' });
  });

  it('between two tags the block wins, then the newer of two alike', async () => {
    const mac = await fleet.mac('overlap-3', { tags: ['red', 'blue'] });
    const target = fresh();
    const block = await put(target, 'BLOCKLIST', 'tag', 'red', { custom_msg: 'red' });
    await put(target, 'ALLOWLIST', 'tag', 'blue');
    await syncAndCompare(mac);
    expect(mac.rule(target)?.policy).toBe('BLOCKLIST');
    await put(target, 'SILENT_BLOCKLIST', 'tag', 'blue');
    await syncAndCompare(mac);
    expect(mac.rule(target)?.policy).toBe('SILENT_BLOCKLIST');
    await fleet.server.repos.rules.remove(block);
    await syncAndCompare(mac);
    expect(mac.rule(target)?.policy).toBe('SILENT_BLOCKLIST');
  });

  it('the console marks the shadowed rule and names the one the machine holds', async () => {
    await fleet.mac('overlap-4');
    const target = fresh();
    const allow = await put(target, 'ALLOWLIST', 'global');
    const block = await put(target, 'BLOCKLIST', 'machine', 'overlap-4');
    const { body } = await callConsole(
      fleet.server.base,
      'GET',
      '/console/api/machines/overlap-4',
      fleet.sessions.viewer,
    );
    const shown = (body.rules as { id: number; shadowed_by: number | null }[]).filter((rule) =>
      [allow, block].includes(rule.id),
    );
    expect(shown).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: allow, shadowed_by: block }),
        expect.objectContaining({ id: block, shadowed_by: null }),
      ]),
    );
  });

  it("owner change: the new user's rules arrive and the old user's go, as exact transitions", async () => {
    const mac = await fleet.mac('owner-1', { primaryUser: 'ada' });
    const [adas, bobs, shared] = [fresh(), fresh(), fresh()];
    await put(adas, 'ALLOWLIST', 'user', 'ada');
    await put(bobs, 'ALLOWLIST', 'user', 'bob');
    await put(shared, 'ALLOWLIST', 'global');
    await put(shared, 'BLOCKLIST', 'user', 'ada');
    await syncAndCompare(mac);
    expect(mac.rule(adas)).toBeDefined();
    expect(mac.rule(shared)?.policy).toBe('BLOCKLIST');
    await syncAndCompare(mac);
    changeOwner(mac, 'bob');
    const report = await syncAndCompare(mac);
    expect(report.syncType).toBe('NORMAL');
    expect(report.received).toEqual(
      expect.arrayContaining([
        { identifier: adas, rule_type: 'BINARY', policy: 'REMOVE' },
        { identifier: bobs, rule_type: 'BINARY', policy: 'ALLOWLIST' },
        { identifier: shared, rule_type: 'BINARY', policy: 'ALLOWLIST' },
      ]),
    );
    expect(mac.rule(adas)).toBeUndefined();
    expect((await syncAndCompare(mac)).received).toEqual([]);
    const audit = await auditEntries(fleet.server.db, {
      target: 'machine:owner-1',
      action: 'machine.membership-change',
    });
    expect(audit.map((entry) => entry.details)).toEqual([
      { before: { primary_user: 'ada', tags: [] }, after: { primary_user: 'bob', tags: [] } },
    ]);
  });

  it('a tag taken away takes its rules with it, even when nothing else reaches the machine', async () => {
    const mac = await fleet.mac('tags-1', { tags: ['build'] });
    const target = fresh();
    await put(target, 'ALLOWLIST', 'tag', 'build');
    await syncAndCompare(mac);
    expect(mac.rule(target)).toBeDefined();
    await setTags(fleet.server, 'tags-1', []);
    const report = await syncAndCompare(mac);
    expect(report.received).toContainEqual({
      identifier: target,
      rule_type: 'BINARY',
      policy: 'REMOVE',
    });
    expect(mac.rule(target)).toBeUndefined();
  });

  it('two global rules for one target (an approval beside a console rule): the block wins', async () => {
    const mac = await fleet.mac('dup-1');
    const target = fresh();
    await put(target, 'BLOCKLIST', 'global');
    // An approval for everyone adds its own row beside the console's (db/requests.ts).
    await fleet.server.db.transaction().execute(async (trx) => {
      const { rows } = await sql<{
        value: number;
      }>`UPDATE counters SET value = value + 1 WHERE name = 'rule_version' RETURNING value`.execute(
        trx,
      );
      await trx
        .insertInto('rules')
        .values({
          identifier: target,
          rule_type: 'BINARY',
          policy: 'ALLOWLIST',
          scope: 'global',
          created_by: 'approval',
          created_at: Date.now(),
          deleted: 0,
          version: Number(rows[0]!.value),
        })
        .execute();
    });
    await syncAndCompare(mac);
    expect(mac.rule(target)?.policy).toBe('BLOCKLIST');
    expect((await mac.sync({ clean: 'CLEAN' })).syncType).toBe('CLEAN');
    expect(mac.rule(target)?.policy).toBe('BLOCKLIST');
  });

  it('a clean sync with nothing to hold still empties the Mac', async () => {
    const mac = await fleet.mac('empty-1', { tags: ['lonely'] });
    const target = fresh();
    await put(target, 'ALLOWLIST', 'tag', 'lonely');
    await syncAndCompare(mac);
    // The Mac also holds a rule the server never sent (santactl, an old server).
    mac.held.set(`${fresh()}\u0000BINARY`, {
      identifier: fresh(),
      rule_type: 'BINARY',
      policy: 'BLOCKLIST',
    });
    await setTags(fleet.server, 'empty-1', []);
    const global = await fleet.server.db
      .selectFrom('rules')
      .select('id')
      .where('scope', '=', 'global')
      .where('deleted', '=', 0)
      .execute();
    for (const { id } of global) await fleet.server.repos.rules.remove(id);
    const report = await mac.sync({ clean: 'CLEAN' });
    expect(report.syncType).toBe('CLEAN');
    expect(mac.rules).toEqual([]);
  });

  it('counts that disagree with what the machine should hold get one clean sync per rule version', async () => {
    const mac = await fleet.mac('drift-1');
    const target = fresh();
    await put(target, 'ALLOWLIST', 'machine', 'drift-1');
    await syncAndCompare(mac);
    await put(fresh(), 'ALLOWLIST', 'machine', 'someone-else');
    expect((await mac.sync()).syncType).toBe('NORMAL');
    // The Mac lost a rule behind the server's back (a restored disk, santactl rule --remove).
    mac.held.delete(`${target}\u0000BINARY`);
    expect((await syncAndCompare(mac)).syncType).toBe('CLEAN');
    expect(mac.rule(target)).toBeDefined();
    // One it cannot keep (as Santa drops a CEL rule it cannot compile) is not asked for again
    // and again at the same version.
    mac.held.delete(`${target}\u0000BINARY`);
    expect((await mac.sync()).syncType).toBe('NORMAL');
    const audit = await auditEntries(fleet.server.db, {
      target: 'machine:drift-1',
      action: 'machine.clean-sync',
    });
    const drift = audit.map((entry) => entry.details);
    expect(drift).toEqual([{ reason: 'rule-count-drift', binary: expect.any(Object) }]);
    const { reported, expected } = drift[0]!.binary as { reported: number; expected: number };
    expect(expected - reported).toBe(1);
  });

  it('transitive rules the Mac made are not drift', async () => {
    const mac = await fleet.mac('drift-2');
    await put(fresh(), 'ALLOWLIST_COMPILER', 'machine', 'drift-2');
    await syncAndCompare(mac);
    await put(fresh(), 'ALLOWLIST', 'machine', 'someone-else');
    await mac.sync();
    mac.addTransitiveRule(fresh());
    expect((await mac.sync()).syncType).toBe('NORMAL');
  });

  it('the helpdesk orders a clean sync from the console; a viewer may not', async () => {
    const mac = await fleet.mac('ordered-1');
    await mac.sync();
    const path = '/console/api/machines/ordered-1/clean-sync';
    const viewer = await callConsole(fleet.server.base, 'POST', path, fleet.sessions.viewer);
    expect(viewer.status).toBe(403);
    const missing = await callConsole(
      fleet.server.base,
      'POST',
      '/console/api/machines/no-such-mac/clean-sync',
      fleet.sessions.helpdesk,
    );
    expect(missing.status).toBe(404);
    const ordered = await callConsole(fleet.server.base, 'POST', path, fleet.sessions.helpdesk);
    expect(ordered).toEqual({
      status: 200,
      body: { clean_sync_pending: true, clean_all_pending: false },
    });
    const detail = await callConsole(
      fleet.server.base,
      'GET',
      '/console/api/machines/ordered-1',
      fleet.sessions.viewer,
    );
    expect(detail.body.machine.clean_sync_pending).toBe(true);
    expect((await syncAndCompare(mac)).syncType).toBe('CLEAN');
    expect((await mac.sync()).syncType).toBe('NORMAL');
    const audit = await auditEntries(fleet.server.db, {
      target: 'machine:ordered-1',
      action: 'machine.clean-sync',
    });
    expect(audit.map(({ actor, details }) => ({ actor, details }))).toEqual([
      { actor: 'grace', details: { reason: 'console' } },
    ]);
  });

  it('the helpdesk orders a CLEAN_ALL; a body it does not understand is refused', async () => {
    const mac = await fleet.mac('ordered-all');
    await mac.sync();
    mac.addTransitiveRule(fresh());
    const path = '/console/api/machines/ordered-all/clean-sync';
    const helpdesk = fleet.sessions.helpdesk;
    for (const body of [{ all: 'yes' }, { everything: true }]) {
      const refused = await callConsole(fleet.server.base, 'POST', path, { ...helpdesk, body });
      expect(refused.status).toBe(400);
    }
    expect((await mac.sync()).syncType).toBe('NORMAL');
    const ordered = await callConsole(fleet.server.base, 'POST', path, {
      ...helpdesk,
      body: { all: true },
    });
    expect(ordered.body).toEqual({ clean_sync_pending: true, clean_all_pending: true });
    const pending = async () =>
      (await callConsole(fleet.server.base, 'GET', '/console/api/machines/ordered-all', helpdesk))
        .body.machine;
    expect(await pending()).toMatchObject({ clean_sync_pending: true, clean_all_pending: true });
    const report = await syncAndCompare(mac);
    expect(report.syncType).toBe('CLEAN_ALL');
    expect(mac.rules.filter((rule) => rule.transitive)).toEqual([]);
    expect((await mac.sync()).syncType).toBe('NORMAL');
    expect(await pending()).toMatchObject({ clean_sync_pending: false, clean_all_pending: false });
    const audit = await auditEntries(fleet.server.db, {
      target: 'machine:ordered-all',
      action: 'machine.clean-sync',
    });
    expect(audit.map(({ actor, details }) => ({ actor, details }))).toEqual([
      { actor: 'grace', details: { reason: 'console', all: true } },
    ]);
  });
});
