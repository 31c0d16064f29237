// `npm run dist`: packages the app with electron-builder, which needs Electron's binary.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { findElectronBinary } from './electron-binary';

const root = join(import.meta.dirname, '..');
const electronDir = join(root, 'node_modules', 'electron');
const electron = findElectronBinary(electronDir);

if (!electron.found) {
  console.error(
    `npm run dist: cannot package Gatehouse because ${electron.reason}; run \`npx install-electron\` on a machine that can reach Electron's releases, then run \`npm run dist\` again.`,
  );
  process.exitCode = 1;
} else {
  const bin = join(root, 'node_modules', '.bin');
  const distDir = process.env.ELECTRON_OVERRIDE_DIST_PATH ?? join(electronDir, 'dist');
  for (const [command, args] of [
    [join(bin, 'electron-vite'), ['build']],
    [
      join(bin, 'electron-builder'),
      ['--config', 'electron-builder.yml', `-c.electronDist=${distDir}`],
    ],
  ] as const) {
    const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
    if (result.status !== 0) {
      process.exitCode = result.status ?? 1;
      break;
    }
  }
}
