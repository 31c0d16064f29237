import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: new URL('../..', import.meta.url).pathname });

async function restrictedImports(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? [])
    .filter((message) => message.ruleId === 'no-restricted-imports')
    .map((message) => message.message);
}

describe('import boundaries', () => {
  it('rejects node:fs in common/', async () => {
    const errors = await restrictedImports(
      'common/example.ts',
      "import { readFileSync } from 'node:fs';\nexport const read = readFileSync;\n",
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain("'node:fs'");
  });

  it.each([
    {
      what: 'a bare Node built-in and Electron in renderer/',
      file: 'renderer/src/example.ts',
      code: "import path from 'path';\nimport { ipcRenderer } from 'electron';\nexport const x = [path, ipcRenderer];\n",
      errors: 2,
    },
    {
      what: 'Electron in the service role, which runs under plain Node',
      file: 'main/agent/example.ts',
      code: "import { app } from 'electron';\nexport const x = app;\n",
      errors: 1,
    },
    {
      what: 'common/ reaching into a runtime folder',
      file: 'common/example.ts',
      code: "import { nativeAddon } from '../native/index';\nexport const x = nativeAddon;\n",
      errors: 1,
    },
  ])('rejects $what', async ({ file, code, errors }) => {
    expect(await restrictedImports(file, code)).toHaveLength(errors);
  });

  it('lets common/ import common/ and main/ import Node', async () => {
    expect(
      await restrictedImports(
        'common/example.ts',
        "import { protectionOf } from './status';\nexport const x = protectionOf;\n",
      ),
    ).toEqual([]);
    expect(
      await restrictedImports(
        'main/agent/example.ts',
        "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n",
      ),
    ).toEqual([]);
  });
});
