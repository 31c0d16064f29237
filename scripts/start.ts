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
    `gatehouse: the menu-bar app cannot open here: ${electron.reason}; what runs without it:`,
  );
  process.exitCode = run(join(npx, 'tsx'), [join(root, 'main/cli/gatehousectl.ts'), 'version']);
  console.log(
    [
      '  the service (root):   npm run service -- --config /etc/gatehouse/config.json',
      '  without enforcement:  npm run service -- --backend fake --config FILE (StateDir and SocketPath writable by you)',
      '  then:                 npm run ctl -- status',
    ].join('\n'),
  );
}
