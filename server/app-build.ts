// How a browser app the backend serves (server/routes/app-pages.ts: the console, the portal) is
// built: Svelte, under /NAME/ into out/NAME, in one page shell. The shell is the head every page
// has and the #app element that the app's src/main.ts mounts on; each app's index.html holds only
// what is its own (its title, the portal's viewport).
import { resolve } from 'node:path';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import type { HtmlTagDescriptor, Plugin, UserConfig } from 'vite';

const REPO = resolve(import.meta.dirname, '..');

const SHELL: HtmlTagDescriptor[] = [
  { tag: 'meta', attrs: { charset: 'UTF-8' }, injectTo: 'head-prepend' },
  { tag: 'meta', attrs: { name: 'color-scheme', content: 'light dark' }, injectTo: 'head-prepend' },
  { tag: 'link', attrs: { rel: 'icon', href: 'data:,' }, injectTo: 'head-prepend' },
  { tag: 'div', attrs: { id: 'app' }, injectTo: 'body-prepend' },
  { tag: 'script', attrs: { type: 'module', src: './src/main.ts' }, injectTo: 'body' },
];

/** Added before Vite reads the page, so that the entry script is bundled like a written one. */
const pageShell: Plugin = {
  name: 'gatehouse:page-shell',
  transformIndexHtml: { order: 'pre', handler: () => SHELL },
};

export function appBuild(name: 'console' | 'portal'): UserConfig {
  return {
    root: resolve(REPO, 'server', name),
    base: `/${name}/`,
    plugins: [svelte({ configFile: resolve(REPO, 'svelte.config.js') }), pageShell],
    build: { outDir: resolve(REPO, 'out', name), emptyOutDir: true },
  };
}
