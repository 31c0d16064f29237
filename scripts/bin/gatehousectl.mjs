#!/usr/bin/env node
// gatehousectl from a checkout or an npm install: the TypeScript entry, compiled on the fly.
import { register } from 'tsx/esm/api';

register();
const { runCtl } = await import('../../main/cli/gatehousectl.ts');
process.exitCode = await runCtl(process.argv.slice(2));
