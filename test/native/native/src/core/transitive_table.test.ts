// The native transitive table through the monitor (fake backend, no root): what is loaded is
// listed, it is bounded with the rule used longest ago dropped first, a clean sync empties it, and
// a monitor that cannot track writes says so instead of pretending.
import { afterEach, describe, expect, it } from 'vitest';
import type { TransitiveRule } from '../../../../../common/rules';
import { ExecMonitor, validateMonitorOptions } from '../../../../../native/index';

const rule = (inode: number, lastUsedMs: number): TransitiveRule => ({
  dev: 42,
  inode,
  sha256: inode.toString(16).padStart(64, '0'),
  compiler: '/usr/bin/x86_64-linux-gnu-ld.bfd',
  compilerSha256: 'f'.repeat(64),
  createdMs: 1_000,
  lastUsedMs,
});

let monitor: ExecMonitor | undefined;
afterEach(() => {
  monitor?.stop();
  monitor = undefined;
});

describe('the native transitive table', () => {
  it('lists what was loaded, and drops the rule used longest ago when full', () => {
    monitor = new ExecMonitor();
    monitor.start({
      backend: 'fake',
      mode: 'LOCKDOWN',
      transitiveCapacity: 2,
      transitiveRules: [rule(1, 300), rule(2, 100), rule(3, 200)],
    });
    const kept = monitor.transitiveRules().map((r) => r.inode);
    expect(kept.sort()).toEqual([1, 3]);
    expect(monitor.transitiveRules().find((r) => r.inode === 1)).toEqual(rule(1, 300));
    expect(monitor.metrics().transitiveRules).toBe(2);
  });

  it('empties on a clean sync and says how many went', () => {
    monitor = new ExecMonitor();
    monitor.start({ backend: 'fake', mode: 'LOCKDOWN', transitiveRules: [rule(1, 1), rule(2, 2)] });
    expect(monitor.clearTransitiveRules()).toBe(2);
    expect(monitor.transitiveRules()).toEqual([]);
  });

  it('refuses to turn tracking on where it cannot track writes, naming why', () => {
    monitor = new ExecMonitor();
    expect(() => monitor!.start({ backend: 'fake', mode: 'LOCKDOWN', transitive: true })).toThrow(
      /transitive rules need close-write tracking/,
    );
  });

  it('refuses a malformed kept rule with what it needs', () => {
    monitor = new ExecMonitor();
    monitor.start({ backend: 'fake', mode: 'LOCKDOWN' });
    expect(() => monitor!.loadTransitiveRules([{ ...rule(1, 1), sha256: 'not hex' }])).toThrow(
      /entry 0 needs dev, inode, sha256/,
    );
    expect(validateMonitorOptions({ mode: 'LOCKDOWN', transitiveCapacity: 0 })).toEqual([
      'transitiveCapacity must be an integer from 1 to 1000000, got 0',
    ]);
  });
});
