import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  addonCandidates,
  loadAddonFrom,
  nativeAddon,
  NativeAddonNotFoundError,
} from '../../../native/index';
import packageJson from '../../../package.json' with { type: 'json' };
import { useScratchPerTest } from '../../helpers/scratch';

const { scratch } = useScratchPerTest('addon');

describe('native addon', () => {
  it('was built by npm install from this version of the package', () => {
    expect(nativeAddon().version()).toBe(packageJson.version);
  });

  it('reports the exec-monitor backend for this platform', () => {
    expect(nativeAddon().backend()).toBe(
      process.platform === 'darwin' ? 'endpoint-security' : 'fanotify',
    );
  });

  it('names every path it tried when the addon is nowhere', () => {
    const empty = scratch();
    const candidates = addonCandidates(join(empty, 'out', 'main'), {}, undefined);
    expect(candidates).toContain(join(empty, 'native', 'build', 'Release', 'gatehouse.node'));
    const error = (() => {
      try {
        loadAddonFrom(candidates.filter((path) => path.startsWith(empty)));
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(NativeAddonNotFoundError);
    for (const path of (error as NativeAddonNotFoundError).tried) {
      expect((error as Error).message).toContain(path);
    }
    expect((error as Error).message).toContain('npm install');
  });

  it('says which file was found but would not load', () => {
    const broken = join(scratch(), 'gatehouse.node');
    writeFileSync(broken, 'not an ELF file');
    expect(() => loadAddonFrom([broken])).toThrow(/found, but failed to load/);
  });

  it('puts an explicit override first', () => {
    const candidates = addonCandidates(
      '/x/native',
      { GATEHOUSE_NATIVE_ADDON: '/opt/g/gatehouse.node' },
      '/r',
    );
    expect(candidates.slice(0, 3)).toEqual([
      '/opt/g/gatehouse.node',
      '/r/native/gatehouse.node',
      '/x/native/build/Release/gatehouse.node',
    ]);
  });
});
