// Runs first in `npm test`: makes sure what the tests need is on this machine, installing it where
// it can (root on Debian) and otherwise stopping with the exact command to run.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromiumPath, isRoot, missingChromiumMessage } from './helpers/prerequisites';

const addonPath = fileURLToPath(new URL('../native/build/Release/gatehouse.node', import.meta.url));

function fail(message: string): never {
  console.error(`npm test: ${message}`);
  process.exit(1);
}

if (!existsSync(addonPath)) {
  fail(`the native addon is not built (${addonPath} is missing). Run: npm install`);
}

// npm run lint checks the addon's C++ and BPF C with Debian's clang-format.
if (spawnSync('sh', ['-c', 'command -v clang-format']).status !== 0) {
  const command = 'apt-get update && apt-get install -y clang-format';
  if (!isRoot || !existsSync('/usr/bin/apt-get'))
    fail(`clang-format is missing (npm run lint checks native/ with it). Install it: ${command}`);
  console.log(
    "npm test: clang-format is missing; installing Debian's clang-format package (root)…",
  );
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', 'clang-format'],
  ]) {
    if (spawnSync('apt-get', args, { stdio: 'inherit', env }).status !== 0)
      fail(`\`apt-get ${args.join(' ')}\` failed; install clang-format yourself: ${command}`);
  }
}

const missing = missingChromiumMessage();
if (missing) {
  const canInstall = isRoot && existsSync('/usr/bin/apt-get') && !process.env.GATEHOUSE_CHROMIUM;
  if (!canInstall) fail(missing);
  console.log("npm test: Chromium is missing; installing Debian's chromium package (root)…");
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', 'chromium'],
  ]) {
    const result = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (result.status !== 0) fail(`\`apt-get ${args.join(' ')}\` failed. ${missing}`);
  }
  if (!existsSync(chromiumPath)) fail(missing);
}
