// Last in `npm test`: vitest, from where every user the tests act as can reach the code (see
// helpers/reachable-copy.ts). Only root's tests act as other users, so only root needs the copy.
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { isRoot } from './helpers/prerequisites';
import { closedToOthers, makeReachableCopy, type ReachableCopy } from './helpers/reachable-copy';

const checkout = resolve(import.meta.dirname, '..');
const closed = closedToOthers(checkout);
let copy: ReachableCopy | undefined;
if (closed && isRoot && process.platform === 'linux') {
  copy = makeReachableCopy(checkout);
  console.log(
    `npm test: other users cannot enter ${closed}, and the tests run programs as nobody and postgres, so they run from a copy of this checkout (${copy.linked ? 'hard links' : 'copied files'}) in ${copy.root}, removed afterwards`,
  );
}
const root = copy?.root ?? checkout;
const vitest = spawn(join(root, 'node_modules/.bin/vitest'), ['run', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
// Ctrl-C reaches vitest itself (one process group); the copy goes only once vitest has stopped.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => vitest.kill('SIGTERM'));
vitest.once('error', (error) => {
  copy?.remove();
  console.error(`npm test: vitest did not start: ${error.message}`);
  process.exit(1);
});
vitest.once('exit', (code, signal) => {
  copy?.remove();
  process.exit(code ?? (signal ? 1 : 0));
});
