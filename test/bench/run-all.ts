// `npm run bench`: every `bench:*` script in package.json, in order, with the arguments given.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '../..');
const scripts: Record<string, string> = JSON.parse(
  readFileSync(join(root, 'package.json'), 'utf8'),
).scripts;
const benches = Object.keys(scripts).filter((name) => name.startsWith('bench:'));

if (benches.length === 0) {
  console.log(
    'npm run bench: there are no bench:* scripts in package.json yet; nothing to measure.',
  );
} else {
  let failed = 0;
  for (const name of benches) {
    console.log(`\n== npm run ${name}`);
    const result = spawnSync('npm', ['run', '--silent', name, '--', ...process.argv.slice(2)], {
      cwd: root,
      stdio: 'inherit',
    });
    if (result.status !== 0) failed++;
  }
  process.exitCode = failed === 0 ? 0 : 1;
}
