import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type ElectronBinary = { found: true; path: string } | { found: false; reason: string };

/**
 * Finds Electron's binary without triggering the electron package's download-on-first-use (which
 * cannot succeed on a machine that reaches only package registries).
 */
export function findElectronBinary(
  electronPackageDir: string,
  env: NodeJS.ProcessEnv = process.env,
): ElectronBinary {
  const pathFile = join(electronPackageDir, 'path.txt');
  const relative = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : 'electron';
  const distDir = env.ELECTRON_OVERRIDE_DIST_PATH ?? join(electronPackageDir, 'dist');
  const path = join(distDir, relative);
  if (existsSync(path)) return { found: true, path };
  return {
    found: false,
    reason: `Electron's binary is not installed (${path} is missing; Electron downloads it from outside the package registries)`,
  };
}
