// The scratch space of a describe block that starts real parts: a temporary folder, and a list
// where each part registers how to stop it as soon as it has started; or one part the block's
// tests share, started and closed around them.
import { afterAll, afterEach, beforeAll } from 'vitest';
import { tempDir } from './files';

/**
 * A fresh temporary folder and a clean-up list. After the block's tests (passed or not), the
 * clean-ups run last first, awaited one by one, and then the folder is removed.
 */
export function useScratch(prefix: string): { dir: string; cleanups: (() => unknown)[] } {
  const folder = tempDir(prefix);
  const cleanups: (() => unknown)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    folder.remove();
  });
  return { dir: folder.dir, cleanups };
}

/**
 * The same for each test: `scratch()` makes a fresh temporary folder, and after every test its
 * folders and the clean-ups registered meanwhile are undone, last first.
 */
export function useScratchPerTest(prefix: string): {
  scratch(): string;
  cleanups: (() => unknown)[];
} {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const scratch = () => {
    const folder = tempDir(prefix);
    cleanups.push(() => folder.remove());
    return folder.dir;
  };
  return { scratch, cleanups };
}

/**
 * A part the block's tests share (a backend, a fleet): started before them, closed after them,
 * passed or not. The block reads it as it would a `let` assigned in `beforeAll`: what comes back
 * forwards to the started part, and says so when read before the block's tests run.
 */
export function useStarted<T extends { close(): unknown }>(
  start: () => Promise<T>,
  timeoutMs = 120_000,
): T {
  let started: T | undefined;
  beforeAll(async () => {
    started = await start();
  }, timeoutMs);
  afterAll(() => started?.close());
  return new Proxy({} as T, {
    get(_, key) {
      if (!started) throw new Error('useStarted: read the part inside a test, once it started');
      const value: unknown = Reflect.get(started, key);
      return typeof value === 'function' ? value.bind(started) : value;
    },
  });
}
