import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RawAddon } from './native.d.ts';

const ADDON_FILE = 'gatehouse.node';

export class NativeAddonNotFoundError extends Error {
  readonly tried: readonly string[];
  constructor(tried: readonly string[], failures: ReadonlyMap<string, string>) {
    const lines = tried.map((path) => {
      const why = failures.get(path);
      return `  ${path}${why ? ` (found, but failed to load: ${why})` : ' (not found)'}`;
    });
    super(
      `native: could not load ${ADDON_FILE}. Tried:\n${lines.join('\n')}\n` +
        'Build it with `npm install` (or `npx node-gyp rebuild --directory native`), ' +
        'or point GATEHOUSE_NATIVE_ADDON at the file.',
    );
    this.name = 'NativeAddonNotFoundError';
    this.tried = tried;
  }
}

/**
 * Where gatehouse.node may be, most specific first: an explicit override, the packaged app's
 * resources, then native/build/{Release,Debug} found by walking up from this module (which sits in
 * native/ in a checkout and in out/main/ once bundled).
 */
export function addonCandidates(
  moduleDir: string,
  env: NodeJS.ProcessEnv = process.env,
  resourcesPath: string | undefined = (process as { resourcesPath?: string }).resourcesPath,
): string[] {
  const candidates: string[] = [];
  if (env.GATEHOUSE_NATIVE_ADDON) candidates.push(resolve(env.GATEHOUSE_NATIVE_ADDON));
  if (resourcesPath) candidates.push(join(resourcesPath, 'native', ADDON_FILE));
  const buildDirs = [join(moduleDir, 'build')];
  for (let dir = resolve(moduleDir); ; dir = dirname(dir)) {
    buildDirs.push(join(dir, 'native', 'build'));
    if (dirname(dir) === dir) break;
  }
  for (const buildDir of buildDirs) {
    for (const flavour of ['Release', 'Debug']) {
      const path = join(buildDir, flavour, ADDON_FILE);
      if (!candidates.includes(path)) candidates.push(path);
    }
  }
  return candidates;
}

/** Loads the first candidate that exists; names every path tried when none loads. */
export function loadAddonFrom(candidates: readonly string[]): RawAddon {
  const require = createRequire(import.meta.url);
  const failures = new Map<string, string>();
  for (const path of candidates) {
    if (!existsSync(path)) continue;
    try {
      return require(path) as RawAddon;
    } catch (error) {
      failures.set(path, error instanceof Error ? error.message : String(error));
    }
  }
  throw new NativeAddonNotFoundError(candidates, failures);
}

let cached: RawAddon | undefined;

/** The native addon, loaded once. */
export function nativeAddon(): RawAddon {
  cached ??= loadAddonFrom(addonCandidates(dirname(fileURLToPath(import.meta.url))));
  return cached;
}
