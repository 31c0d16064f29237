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

// Debian packages the tests use: npm run lint checks the addon's C++ and BPF C with clang-format;
// the transitive-rule tests build with Go and trace a compiler with strace.
const packages = [
  { command: 'clang-format', name: 'clang-format', why: 'npm run lint checks native/ with it' },
  { command: 'go', name: 'golang-go', why: 'the transitive-rule tests build with go' },
  { command: 'strace', name: 'strace', why: 'the transitive-rule tests trace a compiler' },
].filter(({ command }) => spawnSync('sh', ['-c', `command -v ${command}`]).status !== 0);
if (packages.length > 0) {
  const names = packages.map(({ name }) => name).join(' ');
  const command = `apt-get update && apt-get install -y ${names}`;
  if (!isRoot || !existsSync('/usr/bin/apt-get')) {
    const whys = packages.map(({ name, why }) => `${name} (${why})`).join(', ');
    fail(`missing: ${whys}. Install them: ${command}`);
  }
  console.log(`npm test: installing Debian's ${names} (root)…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', ...packages.map(({ name }) => name)],
  ]) {
    if (spawnSync('apt-get', args, { stdio: 'inherit', env }).status !== 0)
      fail(`\`apt-get ${args.join(' ')}\` failed; install them yourself: ${command}`);
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
