// Import boundaries follow where code runs: common/ and renderer/ run anywhere (or in a sandboxed
// page) and may not reach Node or Electron; the service role, the CLI and the server run under
// plain Node and may not reach Electron.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import svelte from 'eslint-plugin-svelte';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
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
  // An import cycle makes module load order decide what is initialised when. import-x does not
  // follow type-only imports, so a cycle made only of those (once routes -> app.ts) is not seen:
  // keep types beside what they describe rather than in the module that assembles everything.
  {
    files: ['**/*.ts', '**/*.svelte', '**/*.js', '**/*.mjs'],
    plugins: { 'import-x': importX },
    // The rule parses imported .svelte files with the options of the file it lints.
    languageOptions: { parserOptions: { parser: tseslint.parser } },
    settings: {
      'import-x/extensions': ['.ts', '.js', '.mjs', '.svelte'],
      'import-x/parsers': {
        '@typescript-eslint/parser': ['.ts'],
        'svelte-eslint-parser': ['.svelte'],
      },
      'import-x/resolver-next': [createTypeScriptImportResolver({ alwaysTryTypes: false })],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
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
            {
              group: ['**/schemas/*'],
              allowTypeImports: true,
              message: "The console takes only types from the server's schemas: import type.",
            },
          ],
        },
      ],
    },
  },
  // A function a reader cannot hold in view is where duplicated knowledge hides: split it.
  {
    files: ['main/**/*.ts', 'common/**/*.ts', 'server/**/*.ts'],
    rules: {
      'max-lines-per-function': [
        'error',
        { max: 80, skipBlankLines: true, skipComments: true, IIFEs: true },
      ],
    },
  },
  {
    files: ['main/agent/**', 'main/cli/**', 'server/**', 'native/**'],
    ignores: ['server/console/src/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [electron] }] },
  },
);
