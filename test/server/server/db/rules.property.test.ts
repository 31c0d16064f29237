// A property of scope resolution (server/db/rules.ts syncPage, common/rules.ts resolveRules):
// whatever rules are put, removed or expire, at whatever scopes, and however machines' owners and
// tags change, a stock Santa client that syncs holds exactly what the console says reaches it.
// Random sequences from a seeded generator (a failure names its seed and step), played over real
// HTTP by test/helpers/santa-client.ts, with pages of three rules so that paging is in play.
import { describe, expect, it } from 'vitest';
import type { SantaClient } from '../../../helpers/santa-client';
import { changeOwner, heldLines, setTags, startSantaFleet } from '../../../helpers/santa-fleet';
import { ENGINES } from '../../../helpers/server';
import { useStarted } from '../../../helpers/scratch';

/** mulberry32: small, seeded, good enough to pick test steps. */
function generator(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  return { next, pick };
}

const USERS = ['ada', 'bob', 'cy'] as const;
const TAGS = ['red', 'blue', 'green'] as const;
const POLICIES = ['ALLOWLIST', 'BLOCKLIST', 'SILENT_BLOCKLIST', 'ALLOWLIST_COMPILER', 'CEL'];
const STEPS = 100;

describe.each(ENGINES)('scope resolution property on %s', (engine) => {
  const fleet = useStarted(() => startSantaFleet(engine));

  const seeds = engine === 'sqlite' ? [1, 2, 3, 4, 5, 6, 7, 8] : [9, 10, 11];
  it.each(seeds)(
    'seed %i: after every sync the client holds what the console shows',
    async (seed) => {
      const random = generator(seed);
      const { repos, db } = fleet.server;
      const identifiers = Array.from({ length: 4 }, (_, i) =>
        (seed * 16 + i).toString(16).padStart(64, 'a'),
      );
      const names = ['m0', 'm1', 'm2'].map((name) => `p${seed}-${name}`);
      const tagsOf = () => TAGS.filter(() => random.next() < 0.4);
      const macs: SantaClient[] = [];
      for (const name of names)
        macs.push(await fleet.mac(name, { primaryUser: random.pick(USERS), tags: tagsOf() }));
      const live: number[] = [];

      const steps: Record<string, () => Promise<void>> = {
        async put() {
          const policy = random.pick(POLICIES);
          const scope = random.pick(['global', 'user', 'tag', 'machine'] as const);
          const id = await repos.rules.put({
            identifier: random.pick(identifiers),
            rule_type:
              policy === 'ALLOWLIST_COMPILER' || random.next() < 0.7 ? 'BINARY' : 'CERTIFICATE',
            policy,
            scope,
            scope_value:
              scope === 'global'
                ? null
                : scope === 'user'
                  ? random.pick(USERS)
                  : scope === 'tag'
                    ? random.pick(TAGS)
                    : random.pick(names),
            ...(policy === 'CEL'
              ? { cel_expr: 'target.signing_time >= timestamp("2025-01-01T00:00:00Z")' }
              : {}),
            ...(random.next() < 0.3 ? { custom_msg: `message ${random.next().toFixed(3)}` } : {}),
            created_by: 'property',
          });
          live.push(id);
        },
        async remove() {
          if (live.length === 0) return;
          const id = live.splice(Math.floor(random.next() * live.length), 1)[0]!;
          await repos.rules.remove(id);
        },
        async expire() {
          if (live.length === 0) return;
          const id = live.splice(Math.floor(random.next() * live.length), 1)[0]!;
          // Time passes for this rule: it is expired at the next preflight.
          await db
            .updateTable('rules')
            .set({ expires_at: Date.now() - 1 })
            .where('id', '=', id)
            .execute();
        },
        async owner() {
          changeOwner(random.pick(macs), random.pick(USERS));
        },
        async tags() {
          await setTags(fleet.server, random.pick(names), tagsOf());
        },
      };
      const kinds = [
        'put',
        'put',
        'put',
        'remove',
        'expire',
        'owner',
        'tags',
        'sync',
        'sync',
        'sync',
      ];
      for (let step = 0; step < STEPS; step++) {
        const kind = random.pick(kinds);
        if (kind !== 'sync') {
          await steps[kind]!();
          continue;
        }
        const mac = random.pick(macs);
        // Now and then the user asks for a clean sync (santactl sync --clean).
        await mac.sync(random.next() < 0.1 ? { clean: 'CLEAN' } : {});
        expect(heldLines(mac), `seed ${seed}, step ${step}, ${mac.options.machineId}`).toEqual(
          await fleet.reaching(mac.options.machineId),
        );
      }
      for (const mac of macs) {
        await mac.sync();
        expect(heldLines(mac), `seed ${seed}, last sync, ${mac.options.machineId}`).toEqual(
          await fleet.reaching(mac.options.machineId),
        );
      }
    },
    120_000,
  );
});
