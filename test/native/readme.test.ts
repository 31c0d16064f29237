// The README's quick start and walkthrough, run as a new user runs them, against this checkout's
// own stack, so that what the README tells people to type cannot drift from the product again.
// The commands are read from the README (the quick start's sh block and the console blocks'
// lines starting with `# `) and from the "try:" lines npm start prints, never copied here.
//
// How a README line becomes what runs here (root; nothing outside a private tmpfs is held):
// - `npm install`: what put this checkout's node_modules and native addon here; `npm test` is this
//   very run. Both are checked for, not run again.
// - `npm start` runs as `npm start -- --watch T --no-app --port 0 --data D --socket S`: LOCKDOWN
//   only on T, a private tmpfs; no menu-bar app (so its line is not compared); a free port; the
//   agent's state and control socket in D, a private folder.
// - `/tmp/gatehouse-try` is `T/gatehouse-try`, the one place LOCKDOWN covers.
// - Every other command runs with bash in the checkout, as typed, with GATEHOUSE_SOCKET=S (the
//   walkthrough uses the default socket) and npm test's own variables and PATH entries removed.
//   A walkthrough command that npm start printed under "try:" runs as printed there: with its
//   `--socket S`, its placeholders (EVENT_ID, "why you need it") filled in as the README does.
// - "press Approve": the helpdesk logs in with the printed password and approves through the
//   console's API, as the console's Approve button does (this machine, no expiry).
// - Between commands the test waits as a person would: until the agent has synced, checked the
//   posture and sent what it queued for the helpdesk and, after the approval, has the rule.
// What each command printed must show every line the README shows, in order: `…` stands for
// whatever the README left out, and timestamps, hashes and the admin password for their own
// values; T, S and the port are shown as the README's /tmp, socket and 8080. What the posture
// checks find depends on the machine, so only the Posture heading is compared.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ControlClient, DEFAULT_SOCKET_PATH } from '../../main/agent/control/client';
import type { AgentStatus } from '../../main/agent/agent';
import type { StoredRequest } from '../../main/agent/store/requests';
import { callConsole, logInThroughApi } from '../helpers/console-api';
import { mountTmpfs, sha256sum, tempDir } from '../helpers/files';
import { rootAvailable } from '../helpers/prerequisites';

const root = join(import.meta.dirname, '../..');

interface Block {
  readonly language: string;
  readonly lines: string[];
  /** The prose between the previous block and this one. */
  readonly before: string;
}

interface Step {
  readonly command: string;
  readonly shown: string[];
}

/** The fenced blocks of the README's Quick start section, in order. */
function quickStartBlocks(markdown: string): Block[] {
  const start = markdown.indexOf('\n## Quick start\n');
  if (start < 0) throw new Error('README.md has no "## Quick start" section');
  const end = markdown.indexOf('\n## ', start + 1);
  const section = markdown.slice(start, end < 0 ? undefined : end);
  const blocks: Block[] = [];
  let last = 0;
  for (const match of section.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)) {
    blocks.push({
      language: match[1]!,
      lines: match[2]!.replace(/\n$/, '').split('\n'),
      before: section.slice(last, match.index),
    });
    last = match.index + match[0].length;
  }
  return blocks;
}

/** A console block's commands (`# ` lines, as root's prompt) with the output shown under each. */
function consoleSteps(block: Block): Step[] {
  const steps: { command: string; shown: string[] }[] = [];
  for (const line of block.lines) {
    if (line.startsWith('# ')) steps.push({ command: line.slice(2), shown: [] });
    else if (steps.length === 0) throw new Error(`console block starts with output: ${line}`);
    else steps.at(-1)!.shown.push(line);
  }
  return steps;
}

/** The quick start's sh commands: each line's `&&` parts, without the trailing comment. */
function shCommands(block: Block): string[] {
  return block.lines
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter(Boolean)
    .flatMap((line) => line.split('&&').map((part) => part.trim()));
}

/** The commands npm start prints under "try:", each `then:` on its own, without the notes. */
function tryCommands(summary: string): string[] {
  const lines = summary.split('\n');
  const at = lines.findIndex((line) => line.trim() === 'try:');
  if (at < 0) throw new Error(`npm start printed no "try:" lines:\n${summary}`);
  const commands: string[] = [];
  for (const line of lines.slice(at + 1)) {
    if (!line.startsWith('    ')) break;
    for (const part of line.trim().split(/\s{2,}then:\s+/))
      commands.push(part.replace(/\s{2,}\(.*\)$/, '').trim());
  }
  return commands;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Values that differ from run to run, as the README shows them and as they are matched. */
const VOLATILE: readonly (readonly [RegExp, string])[] = [
  [/…/, '.*'],
  [/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/, '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z'],
  [/\b[0-9a-f]{64}\b/, '[0-9a-f]{64}'],
  [/(?<=password )[\w-]{20}(?=\))/, '[\\w-]{20}'],
];

function linePattern(line: string): RegExp {
  const any = new RegExp(VOLATILE.map(([pattern]) => `(${pattern.source})`).join('|'), 'g');
  let source = '';
  let last = 0;
  for (const match of line.matchAll(any)) {
    source += escape(line.slice(last, match.index));
    source += VOLATILE[match.slice(1).findIndex((group) => group !== undefined)]![1];
    last = match.index + match[0].length;
  }
  return new RegExp(`^${source}${escape(line.slice(last))}$`);
}

/** Every line the README shows must be in the output, in order. */
function expectShown(step: Step, output: string): void {
  const actual = output.split('\n');
  let at = 0;
  let inPosture = false;
  for (const line of step.shown) {
    if (line.startsWith('>>> ')) inPosture = line === '>>> Posture';
    else if (inPosture || line.trim() === '…') continue;
    const pattern = linePattern(line);
    const found = actual.findIndex((candidate, index) => index >= at && pattern.test(candidate));
    if (found < 0)
      throw new Error(
        `the README shows\n  ${line}\nunder \`# ${step.command}\`, which printed (as the README would show it):\n${output}`,
      );
    at = found + 1;
  }
}

/** The environment of a terminal: npm test's own variables and PATH entries left out. */
function terminalEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')),
  );
  env.PATH = (process.env.PATH ?? '/usr/bin:/bin')
    .split(':')
    .filter((dir) => !dir.includes('/node_modules/') && !dir.includes('/node-gyp-bin'))
    .join(':');
  return { ...env, ...extra };
}

async function agentCall<T>(
  socket: string,
  method: string,
  params?: Record<string, unknown>,
): Promise<T> {
  const client = await ControlClient.connect(socket);
  try {
    return await client.call<T>(method, params);
  } finally {
    client.close();
  }
}

async function waitFor(
  what: string | (() => string),
  probe: () => Promise<boolean>,
  timeoutMs = 30_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline)
      throw new Error(
        `waited ${timeoutMs / 1000} s for ${typeof what === 'string' ? what : what()}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.runIf(rootAvailable('the README walkthrough (npm start as root)'))('the README', () => {
  it('quick start and walkthrough: every command runs and prints what the README shows', async () => {
    const blocks = quickStartBlocks(readFileSync(join(root, 'README.md'), 'utf8'));
    const walkthrough = blocks
      .filter((block) => block.language === 'console')
      .map((block) => ({
        approveFirst: /press Approve/.test(block.before),
        steps: consoleSteps(block),
      }));
    const steps = walkthrough.flatMap((block) => block.steps);
    expect(steps[0]?.command, 'the walkthrough starts with npm start').toBe('npm start');
    for (const command of blocks.filter((b) => b.language === 'sh').flatMap(shCommands)) {
      if (command === 'npm install')
        expect(existsSync(join(root, 'native/build/Release/gatehouse.node'))).toBe(true);
      else if (command === 'npm start')
        continue; // the walkthrough's first command
      else if (command !== 'npm test')
        throw new Error(
          `the README's quick start runs \`${command}\`, which this test does not know how to run: teach it (test/native/readme.test.ts)`,
        );
    }

    const tmpfs = mountTmpfs('readme');
    const data = tempDir('readme-data');
    const socket = join(data.dir, 'gatehouse.sock');
    const flags = ['--watch', tmpfs.dir, '--no-app', '--port', '0', '--data', data.dir];
    const env = terminalEnv({ GATEHOUSE_SOCKET: socket });
    const started = spawn('npm', ['start', '--', ...flags, '--socket', socket], {
      cwd: root,
      env,
      detached: true, // its own process group, as a terminal's foreground job: Ctrl-C reaches all
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    started.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    started.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let ended: string | undefined;
    const exited = new Promise<void>((resolve) =>
      started.once('exit', (code, signal) => {
        ended = signal ?? `exit ${code}`;
        resolve();
      }),
    );
    let port = '';
    const asShown = (text: string) =>
      text
        .replaceAll(` --socket ${socket}`, '')
        .replaceAll(socket, DEFAULT_SOCKET_PATH)
        .replaceAll(`${tmpfs.dir}/`, '/tmp/')
        .replaceAll(`127.0.0.1:${port}/`, '127.0.0.1:8080/')
        .replace(/^bash: line \d+: /gm, 'bash: ');
    const tryPath = join(tmpfs.dir, 'gatehouse-try');
    try {
      let helpdesk: { url: string; password: string } | undefined;
      // What the try: line adds to the walkthrough's command of the same kind (its --socket).
      const asPrinted = new Map<Step, string>();
      for (const block of walkthrough) {
        if (block.approveFirst) {
          if (!helpdesk)
            throw new Error('"press Approve" comes before npm start printed its console');
          const base = helpdesk.url.replace(/\/console$/, '');
          const session = await logInThroughApi(base, {
            username: 'admin',
            password: helpdesk.password,
          });
          const queue = await callConsole(base, 'GET', '/console/api/requests', session);
          const request = (queue.body.requests as { id: number; file_name: string }[]).find(
            (candidate) => candidate.file_name === 'gatehouse-try',
          );
          expect(request, JSON.stringify(queue.body)).toBeDefined();
          const approved = await callConsole(
            base,
            'POST',
            `/console/api/requests/${request!.id}/approve`,
            { ...session, body: { scope: 'machine', expires: 'none' } },
          );
          expect(approved.status, JSON.stringify(approved.body)).toBe(200);
          const sha256 = sha256sum(tryPath);
          await waitFor('the agent to have the approved rule', async () => {
            const verdict = await agentCall<{ decision: string }>(socket, 'fileinfo', {
              sha256,
              path: tryPath,
            });
            return verdict.decision.startsWith('ALLOW_');
          });
        }
        for (const step of block.steps) {
          if (step.command === 'npm start') {
            await waitFor(
              () => `npm start's summary:\n${stdout}\n${stderr}`,
              async () => {
                if (ended) throw new Error(`npm start ended (${ended}):\n${stdout}\n${stderr}`);
                return stdout.includes('Ctrl-C stops everything.');
              },
              120_000,
            );
            const printed =
              /helpdesk console: (http:\/\/127\.0\.0\.1:(\d+)\/console)\s+\(user admin, password (\S+)\)/.exec(
                stdout,
              );
            if (!printed) throw new Error(`npm start printed no console line:\n${stdout}`);
            helpdesk = { url: printed[1]!, password: printed[3]! };
            port = printed[2]!;
            // The app line says why the app did not open; with --no-app it says only that.
            const shown = step.shown.map((line) =>
              line.startsWith('gatehouse: the menu-bar app')
                ? 'gatehouse: the menu-bar app…'
                : line,
            );
            expectShown({ ...step, shown }, asShown(stdout));
            // Each try: line must be the walkthrough's next command of its kind, and runs as printed.
            let next = steps.indexOf(step) + 1;
            for (const printedCommand of tryCommands(stdout)) {
              const flag = ` --socket ${socket}`;
              const hasFlag = printedCommand.endsWith(flag);
              const template = hasFlag ? printedCommand.slice(0, -flag.length) : printedCommand;
              const pattern = new RegExp(
                `^${escape(template)
                  .replace(/\b[A-Z][A-Z_]+[A-Z]\b/g, '\\S+')
                  .replace(/"[^"]*"/g, '"[^"]*"')}$`,
              );
              const match = steps.findIndex(
                (candidate, i) => i >= next && pattern.test(candidate.command),
              );
              if (match < 0)
                throw new Error(
                  `npm start says to try \`${printedCommand}\`, but the README's walkthrough does not run it next (after \`${steps[next - 1]?.command}\`)`,
                );
              asPrinted.set(steps[match]!, hasFlag ? flag : '');
              next = match + 1;
            }
            continue;
          }
          if (step.command.startsWith('npm start'))
            throw new Error(`the walkthrough runs \`${step.command}\`: teach this test its flags`);
          // A person types the next command seconds later, when the agent has long finished
          // its first sync and posture checks, and sent what it queued for the helpdesk.
          await waitFor('the agent to sync, check posture and send what it queued', async () => {
            const status = await agentCall<AgentStatus>(socket, 'status');
            const requests = await agentCall<StoredRequest[]>(socket, 'requests.list');
            return (
              status.lastSync !== null &&
              status.posture.length > 0 &&
              requests.every((request) => request.state !== 'queued')
            );
          });
          const command =
            step.command.replace(/\/tmp\/(gatehouse-[\w.-]+)/g, `${tmpfs.dir}/$1`) +
            (asPrinted.get(step) ?? '');
          const result = spawnSync('bash', ['-c', `exec 2>&1; ${command}`], {
            cwd: root,
            env,
            encoding: 'utf8',
            timeout: 60_000,
          });
          if (result.error) throw new Error(`\`${command}\`: ${result.error.message}`);
          expectShown(step, asShown(result.stdout));
        }
      }
      expect(asPrinted.size, 'every try: line was run').toBe(tryCommands(stdout).length);

      // Ctrl-C, as in the terminal that runs npm start.
      process.kill(-started.pid!, 'SIGINT');
      await waitFor('npm start to stop on Ctrl-C', async () => ended !== undefined);
      expect(stdout).toContain('gatehouse: SIGINT, stopping');
      // Everything it started is gone: the control socket and the console answer no more.
      await expect(ControlClient.connect(socket)).rejects.toThrow(/not running/);
      await expect(fetch(helpdesk!.url)).rejects.toThrow();
    } finally {
      if (ended === undefined) {
        try {
          process.kill(-started.pid!, 'SIGKILL');
        } catch {
          // the group has just gone on its own
        }
        await exited;
      }
      tmpfs.unmount();
      data.remove();
    }
  }, 300_000);
});
