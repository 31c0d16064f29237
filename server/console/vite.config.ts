import { defineConfig } from 'vite';
import { appBuild } from '../app-build';

export default defineConfig(appBuild('console'));
