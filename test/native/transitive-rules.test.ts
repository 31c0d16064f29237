// Transitive rules on Linux, end to end: with an ALLOWLIST_COMPILER rule for Debian's gcc/binutils
// and Go toolchains, what they build runs in LOCKDOWN; what anything else writes does not, and a
// user cannot make a process of their own pass for a compiler. Builds run as nobody against the
// real fanotify monitor, LOCKDOWN on a private tmpfs only.
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRecord } from '../../common/control';
import type { RuleIdentity, TransitiveRule } from '../../common/rules';
import { ExecMonitor, type ExecDecision } from '../../native/index';
import { NOBODY, runAs } from '../helpers/as-user';
import { mountTmpfs, sha256sum, tempDir } from '../helpers/files';
import { rootAvailable } from '../helpers/prerequisites';
import {
  lockdownServiceConfig,
  startServiceProcess,
  type ServiceProcess,
} from '../helpers/service-process';
import { eventually } from '../helpers/wait';

const realPath = (path: string) =>
  execFileSync('readlink', ['-f', path], { encoding: 'utf8' }).trim();
const output = (command: string, args: readonly string[]) =>
  execFileSync(command, args, { encoding: 'utf8' }).trim();

/** Every program of Debian's gcc and Go toolchains that runs in a build (and so may write). */
function toolchain(): string[] {
  const gcc = ['cc1', 'collect2'].map((name) => output('gcc', [`-print-prog-name=${name}`]));
  const goTools = output('go', ['env', 'GOTOOLDIR']);
  return [
    realPath('/usr/bin/gcc'),
    ...gcc,
    realPath('/usr/bin/as'),
    realPath('/usr/bin/ld'),
    realPath(output('sh', ['-c', 'command -v go'])),
    ...['compile', 'link', 'asm'].map((tool) => join(goTools, tool)),
  ];
}

const HELLO_C = '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n';

describe.runIf(rootAvailable('the transitive-rule tests'))(
  'transitive rules: what a trusted compiler builds here runs (root, LOCKDOWN on a private tmpfs)',
  () => {
    let tmpfs: ReturnType<typeof mountTmpfs>;
    let outside: string;
    let home: string;
    let compilerRules: RuleIdentity[];
    const monitor = new ExecMonitor();
    const decisions: ExecDecision[] = [];

    /** Runs a shell command as nobody in its home on the tmpfs. */
    const asNobody = (script: string, env = '') =>
      runAs(NOBODY, [
        'env',
        `HOME=${home}`,
        `GOCACHE=${home}/.cache/go`,
        `GOPATH=${home}/go`,
        'GOFLAGS=-mod=mod',
        'PATH=/usr/bin:/bin',
        ...env.split(' ').filter(Boolean),
        'sh',
        '-c',
        `cd ${home} && ${script}`,
      ]);
    const decisionOf = (path: string) =>
      eventually(() => decisions.findLast((d) => d.path === path), `the decision on ${path}`);
    /** What the build tracker saw, so that a refused build says why. */
    const trackerSaw = () => {
      const m = monitor.metrics();
      return `tracker: ${m.compilerWrites} compiler writes, ${m.transitiveMinted} minted, ${m.transitiveRefused} refused, ${m.compilersTainted} tainted, ${m.compilersMissed} compilers gone before seen`;
    };

    beforeAll(() => {
      tmpfs = mountTmpfs('transitive', '512m');
      home = join(tmpfs.dir, 'nobody');
      mkdirSync(home);
      // Unwatched and so ungated: where a user's own programs can run at all.
      outside = mkdtempSync(join(tmpdir(), 'gatehouse-transitive-user-'));
      for (const dir of [home, outside]) chownSync(dir, NOBODY, NOBODY);
      writeFileSync(join(home, 'hello.c'), HELLO_C);
      mkdirSync(join(home, 'proj'));
      writeFileSync(join(home, 'proj', 'util.c'), 'int twice(int x) { return 2 * x; }\n');
      writeFileSync(
        join(home, 'proj', 'main.c'),
        '#include <stdio.h>\nint twice(int);\nint main(void) { printf("%d\\n", twice(21)); }\n',
      );
      writeFileSync(
        join(home, 'proj', 'Makefile'),
        'app: main.o util.o\n\tcc -o app main.o util.o\n%.o: %.c\n\tcc -c -o $@ $<\n',
      );
      mkdirSync(join(home, 'goprog'));
      writeFileSync(join(home, 'goprog', 'go.mod'), 'module example.com/prog\n\ngo 1.19\n');
      writeFileSync(
        join(home, 'goprog', 'main.go'),
        'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("go built") }\n',
      );
      execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, home]);
      compilerRules = toolchain().map((path) => ({
        type: 'BINARY',
        identifier: sha256sum(path),
        policy: 'ALLOWLIST_COMPILER',
      }));
      monitor.onDecision((decision) => decisions.push(decision));
      monitor.start({ mode: 'LOCKDOWN', watchPaths: [tmpfs.dir], transitive: true }, compilerRules);
    });

    afterAll(() => {
      monitor.stop();
      tmpfs?.unmount();
      if (outside) rmSync(outside, { recursive: true, force: true });
    });

    it('runs what gcc builds, every time (the linker often exits before its write is read)', async () => {
      for (let i = 0; i < 8; i++) {
        const run = asNobody(`gcc hello.c -o hello${i} && ./hello${i}`);
        expect(run.output, trackerSaw()).toBe('hello\n');
      }
      const decision = await decisionOf(join(home, 'hello0'));
      expect(decision.decision).toBe('ALLOW_TRANSITIVE');
      expect(decision.builtBy).toBe(realPath('/usr/bin/ld'));
      const rules = monitor.transitiveRules();
      expect(rules.find((rule) => rule.sha256 === sha256sum(join(home, 'hello0')))).toMatchObject({
        compiler: realPath('/usr/bin/ld'),
        compilerSha256: sha256sum(realPath('/usr/bin/ld')),
      });
    });

    it('runs what make and go build build', () => {
      expect(asNobody('make -s -C proj && ./proj/app').output).toBe('42\n');
      expect(asNobody('cd goprog && go build -o prog . && ./prog').output).toBe('go built\n');
    });

    it('keeps the rule through a rename, not through a copy, cat, python or a renamed program', async () => {
      asNobody('gcc hello.c -o built');
      expect(asNobody('mv built renamed && ./renamed').output).toBe('hello\n');
      expect(asNobody('cp renamed copied && ./copied').refused).toBe(true);
      expect(asNobody('cat renamed > catted && chmod +x catted && ./catted').refused).toBe(true);
      const python = "import shutil; shutil.copy('renamed', 'pythoned')";
      expect(asNobody(`python3 -c "${python}" && ./pythoned`).refused).toBe(true);
      // A program of the user's named as the linker: its hash is not the linker's.
      const fakeLinker = join(outside, 'x86_64-linux-gnu-ld.bfd');
      copyFileSync('/usr/bin/cp', fakeLinker);
      chownSync(fakeLinker, NOBODY, NOBODY);
      expect(asNobody(`${fakeLinker} renamed faked && ./faked`).refused).toBe(true);
      expect((await decisionOf(join(home, 'faked'))).decision).toBe('BLOCK_UNKNOWN');
    });

    it('forgets the rule once anything but a compiler writes the file, even the same bytes', () => {
      asNobody('gcc hello.c -o patched && gcc hello.c -o rewritten');
      expect(asNobody('printf x >> patched && ./patched').refused).toBe(true);
      const same = "p='rewritten'; b=open(p,'rb').read(); open(p,'r+b').write(b)";
      expect(asNobody(`python3 -c "${same}" && ./rewritten`).refused).toBe(true);
    });

    it('mints nothing for a preloaded, traced or user-owned copy of a compiler', () => {
      const preload = '/usr/lib/x86_64-linux-gnu/libm.so.6';
      expect(
        asNobody('gcc hello.c -o preloaded && ./preloaded', `LD_PRELOAD=${preload}`).refused,
      ).toBe(true);
      expect(asNobody('strace -f -o /dev/null gcc hello.c -o traced && ./traced').refused).toBe(
        true,
      );
      // The real linker's bytes, but in a file the user can write: not a compiler.
      const userBin = join(outside, 'bin');
      mkdirSync(userBin);
      copyFileSync(realPath('/usr/bin/ld'), join(userBin, 'ld'));
      execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, userBin]);
      expect(asNobody(`gcc -B ${userBin}/ hello.c -o own-linker && ./own-linker`).refused).toBe(
        true,
      );
      // A linker plugin of the user's: code of theirs inside the real linker.
      const plugin = join(outside, 'plugin.so');
      writeFileSync(join(outside, 'plugin.c'), 'int onload(void *tv) { (void)tv; return 0; }\n');
      execFileSync('gcc', ['-shared', '-fPIC', '-o', plugin, join(outside, 'plugin.c')]);
      chownSync(plugin, NOBODY, NOBODY);
      expect(asNobody(`gcc hello.c -o plugged -Wl,-plugin,${plugin} && ./plugged`).refused).toBe(
        true,
      );
      expect(monitor.metrics().compilersTainted).toBeGreaterThan(0);
    });

    it('blocks what the same toolchain builds without the compiler rule', () => {
      monitor.setRules([]);
      try {
        expect(asNobody('gcc hello.c -o unruled && ./unruled').refused).toBe(true);
        expect(asNobody('rm -f proj/app proj/*.o && make -s -C proj && ./proj/app').refused).toBe(
          true,
        );
        expect(asNobody('cd goprog && go build -o prog2 . && ./prog2').refused).toBe(true);
      } finally {
        monitor.setRules(compilerRules);
      }
    });

    it('drops every transitive rule on a clean sync', () => {
      asNobody('gcc hello.c -o cleaned');
      expect(monitor.clearTransitiveRules()).toBeGreaterThan(0);
      expect(monitor.transitiveRules()).toEqual([]);
      expect(asNobody('./cleaned').refused).toBe(true);
    });
  },
);

describe.runIf(rootAvailable('the transitive-rule service test'))(
  'transitive rules through the service and gatehousectl (root, LOCKDOWN on a private tmpfs)',
  () => {
    let tmpfs: ReturnType<typeof mountTmpfs>;
    let state: ReturnType<typeof tempDir>;
    let folder: ReturnType<typeof lockdownServiceConfig>;
    let service: ServiceProcess | undefined;
    let home: string;
    const ctlScript = join(import.meta.dirname, '../../main/cli/gatehousectl.ts');

    const ctl = (...args: string[]) => {
      const result = spawnSync(
        process.execPath,
        ['--import', 'tsx', ctlScript, '--socket', folder.socketPath, ...args],
        { encoding: 'utf8', timeout: 60_000 },
      );
      return { code: result.status, stdout: result.stdout, stderr: result.stderr };
    };
    const build = (script: string) =>
      runAs(NOBODY, ['sh', '-c', `cd ${home} && PATH=/usr/bin:/bin ${script}`]);
    /** What the service's build tracker saw, so that a refused build says why. */
    const trackerSaw = () =>
      ctl('metrics')
        .stdout.split('\n')
        .filter((line) => /counter="(compiler|transitive)/.test(line))
        .join('\n');

    beforeAll(async () => {
      tmpfs = mountTmpfs('transitive-service');
      state = tempDir('transitive-service');
      home = join(tmpfs.dir, 'nobody');
      mkdirSync(home);
      writeFileSync(join(home, 'hello.c'), HELLO_C);
      chownSync(home, NOBODY, NOBODY);
      folder = lockdownServiceConfig(state.dir, tmpfs.dir, {
        MachineID: 'transitive-test',
        EnableTransitiveRules: true,
      });
      service = await startServiceProcess(folder.configPath);
    });
    afterAll(async () => {
      await service?.stop();
      tmpfs?.unmount();
      state?.remove();
    }, 30_000);

    it('rule --allow --compiler, a build, rules --transitive, events, and a restart', async () => {
      expect(build('gcc hello.c -o before && ./before').refused).toBe(true);
      for (const path of toolchain().slice(0, 5)) {
        const added = ctl('rule', '--allow', '--compiler', '--path', path, '--json');
        expect(added.code, added.stderr).toBe(0);
        expect(JSON.parse(added.stdout)).toMatchObject({ policy: 'ALLOWLIST_COMPILER' });
      }
      expect(ctl('rule', '--block', '--compiler', '--sha256', 'a'.repeat(64)).stderr).toContain(
        '--compiler goes with --allow only',
      );
      const hello = build('gcc hello.c -o hello && ./hello');
      expect(hello.output, hello.output === 'hello\n' ? '' : trackerSaw()).toBe('hello\n');

      const listed = JSON.parse(ctl('rules', '--transitive', '--json').stdout) as {
        enabled: boolean;
        rules: TransitiveRule[];
      };
      expect(listed.enabled).toBe(true);
      expect(listed.rules.map((rule) => rule.sha256)).toContain(sha256sum(join(home, 'hello')));
      expect(ctl('rules', '--transitive').stdout).toContain(`built by ${realPath('/usr/bin/ld')}`);
      const events = JSON.parse(ctl('events', '--json').stdout) as EventRecord[];
      expect(events.find((event) => event.fileName === 'hello')).toMatchObject({
        decision: 'ALLOW_TRANSITIVE',
        builtBy: realPath('/usr/bin/ld'),
      });

      // Kept across a restart: the snapshot is put back, and the file is decided again on it.
      await service!.stop();
      service = await startServiceProcess(folder.configPath);
      expect(build('./hello').output).toBe('hello\n');
      expect(build('cp hello copy && ./copy').refused).toBe(true);
    });
  },
);
