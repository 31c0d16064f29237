// Import boundaries follow where code runs: common/ and renderer/ run anywhere (or in a sandboxed
// page) and may not reach Node or Electron; the service role, the CLI and the server run under
// plain Node and may not reach Electron.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// Bare names here; every `node:` specifier is caught by the pattern below.
const nodeBuiltins = builtinModules.filter((name) => !name.startsWith('node:'));

const noNode = {
  paths: nodeBuiltins.map((name) => ({
    name,
    message: 'common/ and renderer/ run outside Node: move this to main/, native/ or server/.',
  })),
  patterns: [
    {
      group: ['node:*'],
      message: 'common/ and renderer/ run outside Node: move this to main/, native/ or server/.',
    },
  ],
};
const electron = {
  name: 'electron',
  message: 'Only main/app/, main/preload/ and main/index.ts may import Electron.',
};
const runtimeFolders = (folders) =>
  folders.map((folder) => ({
    group: [`**/${folder}/**`, `**/${folder}`],
    message:
      'common/ is runtime-neutral: it may not import from main/, native/, server/ or renderer/.',
  }));

export default tseslint.config(
  {
    ignores: ['out/**', 'dist/**', 'native/build/**', 'artifacts/**', 'node_modules/**', 'data/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: {
      parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] },
    },
  },
  {
    files: ['common/**'],
    languageOptions: { globals: {} },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...noNode.paths, electron],
          patterns: [
            ...noNode.patterns,
            ...runtimeFolders(['main', 'native', 'server', 'renderer']),
          ],
        },
      ],
    },
  },
  {
    files: ['renderer/**', 'server/console/src/**'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...noNode.paths, electron],
          patterns: [
            ...noNode.patterns,
            {
              group: ['**/main/**', '**/native/**', '**/server/**'],
              message: 'renderer/ talks to main only through the preload API in common/ipc.ts.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['main/agent/**', 'main/cli/**', 'server/**', 'native/**'],
    ignores: ['server/console/src/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [electron] }] },
  },
);
