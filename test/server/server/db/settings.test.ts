// The settings repository on both engines (upsert, profiles that reach a machine, the bound on
// tag profiles) and the resolution rule: the outcome never depends on the order of profiles or of
// a machine's tags, and USB flags always travel with the block_usb_mount they belong to.
import { describe, expect, it } from 'vitest';
import {
  MAX_TAG_PROFILES,
  preflightSettings,
  resolveSettings,
  SettingsRepository,
} from '../../../../server/db/settings';
import type { SettingsProfile } from '../../../../server/schemas/settings';
import { ENGINES, startTestServer } from '../../../helpers/server';
import { useStarted } from '../../../helpers/scratch';

const DEFAULTS = { batchSize: 50, fullSyncIntervalS: 600 };

const profile = (
  scope: SettingsProfile['scope'],
  value: string | null,
  values: SettingsProfile['values'],
  priority = 0,
): SettingsProfile => ({
  scope,
  scope_value: value,
  priority,
  values,
  updated_by: 't',
  updated_at: 0,
});

/** A small seeded generator, so that a failure can be replayed. */
function random(seed: number) {
  let state = seed;
  return (n: number) => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state % n;
  };
}

function shuffled<T>(items: readonly T[], pick: (n: number) => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = pick(i + 1);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

describe('settings resolution', () => {
  it('gives the same answer whatever the order of profiles and tags', () => {
    const tags = ['a', 'b', 'c', 'd'];
    for (let seed = 1; seed <= 200; seed++) {
      const pick = random(seed);
      const profiles = [
        profile('global', null, { batch_size: 1 + pick(9), enable_bundles: pick(2) === 1 }),
        ...tags.map((tag) =>
          profile(
            'tag',
            tag,
            {
              ...(pick(2) ? { batch_size: 10 + pick(90) } : {}),
              ...(pick(2) ? { client_mode: pick(2) ? 'MONITOR' : 'LOCKDOWN' } : {}),
            },
            pick(3),
          ),
        ),
        ...(pick(2) ? [profile('machine', 'm', { client_mode: 'LOCKDOWN' })] : []),
      ];
      const reference = resolveSettings(profiles, { machine_id: 'm', tags }, DEFAULTS);
      const again = resolveSettings(
        shuffled(profiles, pick),
        { machine_id: 'm', tags: shuffled(tags, pick) },
        DEFAULTS,
      );
      expect(again, `seed ${seed}`).toEqual(reference);
    }
  });

  it('keeps remount flags with the block_usb_mount of the same profile', () => {
    const profiles = [
      profile('global', null, { block_usb_mount: true, remount_usb_mode: ['rdonly'] }),
      profile('machine', 'm', { block_usb_mount: false }),
    ];
    const settings = resolveSettings(profiles, { machine_id: 'm', tags: [] }, DEFAULTS);
    expect(settings.filter((s) => s.key.includes('usb'))).toEqual([
      { key: 'block_usb_mount', value: false, source: 'machine' },
    ]);
    expect(preflightSettings(settings)).toMatchObject({
      block_usb_mount: false,
      removable_media_policy: { allow: true },
    });
    const other = resolveSettings(profiles, { machine_id: 'x', tags: [] }, DEFAULTS);
    expect(preflightSettings(other)).toMatchObject({
      block_usb_mount: true,
      remount_usb_mode: ['rdonly'],
      removable_media_policy: { remount: { flags: ['rdonly'] } },
    });
  });
});

describe.each(ENGINES)('settings repository on %s', (engine) => {
  const server = useStarted(() => startTestServer(engine));

  it('replaces a profile in place and finds only the profiles that reach a machine', async () => {
    const settings = server.repos.settings;
    await settings.put({ scope: 'global', value: '', priority: 0, values: { batch_size: 5 } }, 'a');
    await settings.put({ scope: 'global', value: '', priority: 0, values: { batch_size: 6 } }, 'b');
    await settings.put(
      { scope: 'tag', value: 'x', priority: 2, values: { enable_bundles: true } },
      'a',
    );
    await settings.put({ scope: 'tag', value: 'y', priority: 0, values: {} }, 'a');
    await settings.put({ scope: 'machine', value: 'm1', priority: 0, values: {} }, 'a');
    await settings.put({ scope: 'machine', value: 'm2', priority: 0, values: {} }, 'a');
    expect(await settings.get('global', '')).toMatchObject({
      scope_value: null,
      values: { batch_size: 6 },
      updated_by: 'b',
    });
    const reaching = await settings.profilesFor({ machine_id: 'm1', tags: ['x'] });
    expect(reaching.map((p) => `${p.scope}:${p.scope_value}`).sort()).toEqual([
      'global:null',
      'machine:m1',
      'tag:x',
    ]);
    expect(await settings.remove('tag', 'y', 'a')).toBe(true);
    expect(await settings.remove('tag', 'y', 'a')).toBe(false);
    expect((await settings.list()).length).toBe(4);
  });

  it(`refuses a tag profile beyond ${MAX_TAG_PROFILES}, and still replaces existing ones`, async () => {
    const rows = Array.from({ length: MAX_TAG_PROFILES }, (_, n) => ({
      scope: 'tag',
      scope_value: `bulk-${n}`,
      priority: 0,
      settings: '{}',
      updated_by: 't',
      updated_at: 0,
    }));
    await server.db.deleteFrom('settings_profiles').execute();
    for (let i = 0; i < rows.length; i += 200)
      await server.db
        .insertInto('settings_profiles')
        .values(rows.slice(i, i + 200))
        .execute();
    const settings = server.repos.settings;
    await expect(
      settings.put({ scope: 'tag', value: 'one-more', priority: 0, values: {} }, 'a'),
    ).rejects.toThrow(/already 1000 tag profiles/);
    await settings.put({ scope: 'tag', value: 'bulk-7', priority: 1, values: {} }, 'a');
    expect((await settings.get('tag', 'bulk-7'))?.priority).toBe(1);
    expect(await settings.get('tag', 'one-more')).toBeUndefined();
  });

  it('keeps a preflight answer per settings version, which a change on any process moves on', async () => {
    await server.db.deleteFrom('settings_profiles').execute();
    // Two repositories over one database, as two server processes hold.
    const here = new SettingsRepository(server.db, undefined, 3);
    const there = new SettingsRepository(server.db);
    const machine = { machine_id: 'kept-1', tags: '["kept"]' };
    const version = async () => (await server.repos.rules.syncVersions()).settings;
    const before = await version();
    expect((await here.preflightFor(machine, DEFAULTS, before)).batch_size).toBe(50);

    await there.put({ scope: 'tag', value: 'kept', priority: 0, values: { batch_size: 7 } }, 'a');
    const changed = await version();
    expect(changed).toBeGreaterThan(before);
    // Kept for the version it was read at; the new version reads the change.
    expect((await here.preflightFor(machine, DEFAULTS, before)).batch_size).toBe(50);
    expect((await here.preflightFor(machine, DEFAULTS, changed)).batch_size).toBe(7);
    // Another tag set is another answer.
    const untagged = { machine_id: 'kept-1', tags: '[]' };
    expect((await here.preflightFor(untagged, DEFAULTS, changed)).batch_size).toBe(50);

    expect(await there.remove('tag', 'kept', 'a')).toBe(true);
    const removed = await version();
    expect(removed).toBeGreaterThan(changed);
    expect((await here.preflightFor(machine, DEFAULTS, removed)).batch_size).toBe(50);
    // A removal of nothing changes nothing.
    expect(await there.remove('tag', 'kept', 'a')).toBe(false);
    expect(await version()).toBe(removed);

    // Bounded: a fourth machine pushes the first kept one out.
    for (const id of ['kept-2', 'kept-3', 'kept-4'])
      await here.preflightFor({ machine_id: id, tags: '[]' }, DEFAULTS, removed);
    expect(here.keptAnswers).toBe(3);
  });

  it('refuses a change no process could learn of: its counter gone, nothing is stored', async () => {
    const counter = server.db
      .selectFrom('counters')
      .selectAll()
      .where('name', '=', 'settings_version');
    const saved = await counter.executeTakeFirstOrThrow();
    await server.db.deleteFrom('counters').where('name', '=', 'settings_version').execute();
    try {
      await expect(
        server.repos.settings.put({ scope: 'tag', value: 'lost', priority: 0, values: {} }, 'a'),
      ).rejects.toThrow(/settings_version counter is missing.*restart the server/);
      expect(await server.repos.settings.get('tag', 'lost')).toBeUndefined();
    } finally {
      await server.db.insertInto('counters').values(saved).execute();
    }
  });
});
