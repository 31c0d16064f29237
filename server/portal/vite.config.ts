import { resolve } from 'node:path';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/portal/',
  plugins: [svelte({ configFile: resolve(import.meta.dirname, '../../svelte.config.js') })],
  build: { outDir: resolve(import.meta.dirname, '../../out/portal'), emptyOutDir: true },
});
