// The agent's side of transitive rules, with the fake exec source (no root): the native table is
// put back from the StateDir snapshot at start, saved at stop, emptied by a CLEAN_ALL sync, and
// turning them on where writes cannot be tracked is reported, not fatal.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TransitiveRule } from '../../../../common/rules';
import { TRANSITIVE_FILE } from '../../../../main/agent/store/transitive';
import { useFakeAgent } from '../../../helpers/agent';

const RULE: TransitiveRule = {
  dev: 7,
  inode: 99,
  sha256: 'c'.repeat(64),
  compiler: '/usr/bin/x86_64-linux-gnu-ld.bfd',
  compilerSha256: 'd'.repeat(64),
  createdMs: 1_000,
  lastUsedMs: 2_000,
};

const agents = useFakeAgent('agent-transitive');

/** An agent whose StateDir keeps RULE from an earlier run. */
function startAgent(settings: Record<string, unknown>, log: string[] = []) {
  writeFileSync(join(agents.stateDir(), TRANSITIVE_FILE), JSON.stringify([RULE]));
  return agents.start(settings, (line) => log.push(line));
}

describe('the agent and transitive rules', () => {
  it('puts the kept rules back into the native table, and a CLEAN_ALL sync empties both', () => {
    const started = startAgent({});
    expect(started.transitiveEnabled).toBe(false);
    expect(started.transitiveRules()).toEqual([RULE]);
    expect(started.monitor.metrics().transitiveRules).toBe(1);
    expect(started.clearTransitiveRules()).toBe(1);
    expect(started.transitiveRules()).toEqual([]);
    expect(readFileSync(started.transitive.path, 'utf8')).toBe('[]');
  });

  it('reports that it cannot track writes with the fake source, and runs on', () => {
    const log: string[] = [];
    const started = startAgent({ EnableTransitiveRules: true }, log);
    expect(started.transitiveEnabled).toBe(true);
    expect(log.join('\n')).toContain('transitive rules stay off: ');
    expect(started.monitor.running).toBe(true);
    // The server's word wins over the config key once it is sent.
    started.setServerTransitive(false);
    expect(started.transitiveEnabled).toBe(false);
  });
});
