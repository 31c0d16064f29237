// `npm start`: the menu-bar app where Electron can run; elsewhere, the parts that run without it.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { findElectronBinary } from './electron-binary';

const root = join(import.meta.dirname, '..');

function run(command: string, args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): number {
  const result = spawnSync(command, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...extraEnv },
  });
  return result.status ?? 1;
}

const electron = findElectronBinary(join(root, 'node_modules', 'electron'));
const npx = join(root, 'node_modules', '.bin');

if (electron.found) {
  const built = run(join(npx, 'electron-vite'), ['build']);
  process.exitCode = built === 0 ? run(electron.path, [root]) : built;
} else {
  console.log(
    `gatehouse: the menu-bar app cannot open here: ${electron.reason}; running the service role under Node instead.`,
  );
  process.exitCode = run(join(npx, 'tsx'), [join(root, 'main/agent/service.ts'), '--service']);
}
