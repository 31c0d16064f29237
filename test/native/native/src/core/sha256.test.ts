import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nativeAddon } from '../../../../../native/index';
import { sha256sum, tempDir } from '../../../../helpers/files';

const scratch = tempDir('sha256');
afterAll(() => scratch.remove());

describe('native SHA-256', () => {
  it.each([0, 1, 55, 56, 63, 64, 65, 119, 120, 4096, 1024 * 1024 + 1, 3 * 1024 * 1024 + 17])(
    'equals sha256sum (and md5sum) for %i bytes',
    async (size) => {
      const path = join(scratch.dir, `file-${size}`);
      writeFileSync(path, randomBytes(size));
      const hashed = await nativeAddon().sha256File(path);
      expect(hashed.sha256).toBe(sha256sum(path));
      expect(hashed.md5).toBe(execFileSync('md5sum', [path], { encoding: 'utf8' }).split(' ')[0]);
    },
  );

  it('reports a missing file clearly', async () => {
    await expect(nativeAddon().sha256File(join(scratch.dir, 'nope'))).rejects.toThrow(
      /cannot open .*nope: No such file/,
    );
  });
});
