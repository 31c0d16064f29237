// Import boundaries follow where code runs: common/ and renderer/ run anywhere (or in a sandboxed
// page) and may not reach Node or Electron; the service role, the CLI and the server run under
// plain Node and may not reach Electron.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, resolve } from 'node:path';
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
/** The import rule for code that runs outside Node: no Node built-in, no Electron, no `patterns`. */
const outsideNode = (patterns) => ({
  'no-restricted-imports': [
    'error',
    { paths: [...noNode.paths, electron], patterns: [...noNode.patterns, ...patterns] },
  ],
});
const runtimeFolders = (folders) =>
  folders.map((folder) => ({
    group: [`**/${folder}/**`, `**/${folder}`],
    message:
      'common/ is runtime-neutral: it may not import from main/, native/, server/ or renderer/.',
  }));

// import-x/no-cycle does not follow type-only imports, yet a cycle through one is the same
// tangle (routes importing app.ts's types, pages importing ConsoleState's). This rule reports a
// type-only import whose module reaches back to the importer by any imports; import-x reports
// the cycles made of value imports alone.
const RELATIVE_IMPORT = /(?:^|[\s;{}])(?:import|export)\s[^'"]*?['"](\.{1,2}\/[^'"]+)['"]/g;
const importsByFile = new Map();
function localFile(from, specifier) {
  const base = resolve(dirname(from), specifier);
  for (const candidate of [base, `${base}.ts`, `${base}/index.ts`, base.replace(/\.js$/, '.ts')])
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  return undefined;
}
function importsOf(file) {
  if (!importsByFile.has(file)) {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(RELATIVE_IMPORT)].map((m) => localFile(file, m[1]));
    importsByFile.set(file, targets.filter(Boolean));
  }
  return importsByFile.get(file);
}
function pathBack(from, to) {
  const seen = new Map([[from, undefined]]);
  const queue = [from];
  while (queue.length > 0) {
    const file = queue.shift();
    for (const next of importsOf(file)) {
      if (next === to) {
        const path = [to];
        for (let at = file; at !== undefined; at = seen.get(at)) path.unshift(at);
        return path;
      }
      if (!seen.has(next)) {
        seen.set(next, file);
        queue.push(next);
      }
    }
  }
  return undefined;
}
const typeCycles = {
  rules: {
    'no-type-cycle': {
      meta: {
        type: 'problem',
        schema: [],
        messages: { cycle: 'Import cycle through a type-only import: {{path}}' },
      },
      create(context) {
        const check = (node) => {
          const source = node.source?.value;
          const typeOnly =
            node.importKind === 'type' ||
            node.exportKind === 'type' ||
            (node.specifiers?.length > 0 &&
              node.specifiers.every((s) => s.importKind === 'type' || s.exportKind === 'type'));
          if (!typeOnly || typeof source !== 'string' || !source.startsWith('.')) return;
          const target = localFile(context.filename, source);
          const path = target && pathBack(target, context.filename);
          if (path) {
            const cwd = context.cwd;
            const shown = [context.filename, ...path].map((f) => f.replace(`${cwd}/`, ''));
            context.report({ node, messageId: 'cycle', data: { path: shown.join(' -> ') } });
          }
        };
        return { ImportDeclaration: check, ExportNamedDeclaration: check };
      },
    },
  },
};

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
  // An import cycle makes module load order decide what is initialised when, and ties modules
  // that should be read alone: value cycles through import-x, those through a type-only import
  // through the rule above.
  {
    files: ['**/*.ts', '**/*.svelte', '**/*.js', '**/*.mjs'],
    plugins: { 'import-x': importX, cycles: typeCycles },
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
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'cycles/no-type-cycle': 'error',
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
    rules: outsideNode(runtimeFolders(['main', 'native', 'server', 'renderer'])),
  },
  {
    files: ['renderer/**', 'server/console/src/**', 'server/portal/src/**', 'web/**'],
    languageOptions: { globals: { ...globals.browser } },
    rules: outsideNode([
      {
        group: ['**/main/**', '**/native/**', '**/server/**'],
        message: 'renderer/ talks to main only through the preload API in common/ipc.ts.',
      },
      {
        group: ['**/schemas/*'],
        allowTypeImports: true,
        message: "The console takes only types from the server's schemas: import type.",
      },
    ]),
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
    ignores: ['server/console/src/**', 'server/portal/src/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [electron] }] },
  },
);
