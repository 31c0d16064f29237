// The scratch space of a describe block that starts real parts: a temporary folder, and a list
// where each part registers how to stop it as soon as it has started.
import { afterAll, afterEach } from 'vitest';
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
