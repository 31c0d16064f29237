#!/usr/bin/env node
// `gatehouse --service` from a checkout or an npm install (the packaged app runs the same code
// inside Electron with ELECTRON_RUN_AS_NODE).
import { register } from 'tsx/esm/api';

register();
if (!process.argv.includes('--service')) {
  console.error(
    'gatehouse: under Node only the service role runs: gatehouse --service [--config FILE]',
  );
  process.exit(2);
}
const { runService } = await import('../../main/agent/service.ts');
process.exitCode = await runService(process.argv.slice(2));
