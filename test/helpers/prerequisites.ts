import { existsSync } from 'node:fs';

export const inCI = process.env.CI === 'true';

/** Where the browser tests find Chromium: Debian's package, or GATEHOUSE_CHROMIUM. */
export const chromiumPath = process.env.GATEHOUSE_CHROMIUM ?? '/usr/bin/chromium';

export function missingChromiumMessage(): string | undefined {
  if (existsSync(chromiumPath)) return undefined;
  return (
    `Chromium is not installed at ${chromiumPath}. Install it with: ` +
    'apt-get update && apt-get install -y chromium (or set GATEHOUSE_CHROMIUM to a Chromium binary)'
  );
}

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/**
 * For tests that need root (real fanotify): true when they can run. In CI a missing privilege is a
 * failure, never a silent skip.
 */
export function rootAvailable(what: string): boolean {
  if (isRoot) return true;
  if (inCI) throw new Error(`${what} needs root, and CI must run it: run the tests as root`);
  console.warn(`skipping: ${what} needs root (run the tests as root to include it)`);
  return false;
}
