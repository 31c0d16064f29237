// npm run bench:exec [-- --json] [--rounds N] [--count N]
// Exec cost with and without Gatehouse, and against fapolicyd, as ratios to a no-monitor
// baseline measured in the same run. Root only (fanotify). Everything runs on a private tmpfs so
// that LOCKDOWN never touches the rest of the machine.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  chownSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecMonitor, nativeAddon, type ExecDecision } from '../../native/index';

const args = process.argv.slice(2);
const json = args.includes('--json');
const option = (name: string, fallback: number) => {
  const index = args.indexOf(name);
  return index >= 0 ? Number(args[index + 1]) : fallback;
};
const rounds = option('--rounds', 5);
const count = option('--count', 400);
const log = (line: string) => {
  if (!json) console.log(line);
};

if (process.getuid?.() !== 0) {
  console.error('bench:exec: needs root (fanotify needs CAP_SYS_ADMIN); run it as root.');
  process.exit(2);
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

// --- set-up ---------------------------------------------------------------------------------
const tools = mkdtempSync(join(tmpdir(), 'gatehouse-bench-tools-'));
const here = import.meta.dirname;
execFileSync('cc', ['-O2', '-o', join(tools, 'spawnbench'), join(here, 'spawnbench.c')]);
execFileSync('cc', ['-O2', '-static', '-s', '-o', join(tools, 'tiny'), join(here, 'tiny.c')]);

// Two private tmpfs mounts with the same binaries: the monitor watches one; the other is the
// no-monitor baseline, exec'd alternately with it in the same loop (same machine, same moment).
function mountTmpfs(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `gatehouse-bench-${name}-`));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1g,mode=0755', `gatehouse-bench-${name}`, dir]);
  return dir;
}
const watched = mountTmpfs('watched');
const plain = mountTmpfs('plain');
const sources = { static: join(tools, 'tiny'), 'bin-true': '/bin/true' };
const place = (dir: string) => {
  const paths: Record<string, string> = {};
  for (const [name, source] of Object.entries(sources)) {
    paths[name] = join(dir, name);
    copyFileSync(source, paths[name]);
  }
  paths['1mib'] = join(dir, '1mib');
  copyFileSync(join(tools, 'tiny'), paths['1mib']);
  appendFileSync(paths['1mib'], Buffer.alloc(1024 * 1024 - statSync(paths['1mib']).size, 7)); // exactly 1 MiB
  for (const path of Object.values(paths)) execFileSync('chmod', ['755', path]);
  // A dynamic program with many libraries (python3 reads its empty stdin and exits).
  paths['python3'] = join(dir, 'python3');
  copyFileSync('/usr/bin/python3', paths['python3']);
  execFileSync('chmod', ['755', paths['python3']]);
  // An approved program its user can write: guarded against rewrites while its allow is cached.
  paths['user-writable'] = join(dir, 'user-writable');
  copyFileSync(join(tools, 'tiny'), paths['user-writable']);
  appendFileSync(paths['user-writable'], 'user-writable');
  execFileSync('chmod', ['755', paths['user-writable']]);
  chownSync(paths['user-writable'], NOBODY, NOBODY);
  return paths;
};
const NOBODY = 65534;
const onWatched = place(watched);
const onPlain = place(plain);

const sha256 = (path: string) =>
  execFileSync('sha256sum', [path], { encoding: 'utf8' }).split(' ')[0]!;
const rules = Object.values(onWatched).map((path) => ({
  type: 'BINARY' as const,
  identifier: sha256(path),
  policy: 'ALLOWLIST' as const,
}));
const realPath = (path: string) =>
  execFileSync('readlink', ['-f', path], { encoding: 'utf8' }).trim();
const gccProgram = (name: string) =>
  execFileSync('gcc', [`-print-prog-name=${name}`], { encoding: 'utf8' }).trim();
const compilerRules = [
  realPath('/usr/bin/gcc'),
  gccProgram('cc1'),
  gccProgram('collect2'),
  realPath('/usr/bin/as'),
  realPath('/usr/bin/ld'),
].map((path) => ({
  type: 'BINARY' as const,
  identifier: sha256(path),
  policy: 'ALLOWLIST_COMPILER' as const,
}));

// A write-heavy job for close-write tracking (transitive rules): a source tree of thousands of
// files extracted, then a small C project built with make and its program run.
const tree = join(tools, 'tree.tar');
{
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-tree-'));
  for (let d = 0; d < 100; d++) {
    mkdirSync(join(dir, `dir${d}`));
    for (let f = 0; f < 40; f++)
      writeFileSync(join(dir, `dir${d}`, `file${f}.c`), `/* ${d}/${f} */\n`.repeat(100 + f * 5));
  }
  execFileSync('tar', ['-cf', tree, '-C', dir, '.']);
  rmSync(dir, { recursive: true, force: true });
}
const project = join(tools, 'project');
mkdirSync(project);
for (const name of ['a', 'b', 'c'])
  writeFileSync(join(project, `${name}.c`), `int ${name}(int x) { return x + 1; }\n`);
writeFileSync(
  join(project, 'main.c'),
  'int a(int), b(int), c(int);\nint main(void) { return a(b(c(0))) == 3 ? 0 : 1; }\n',
);
writeFileSync(
  join(project, 'Makefile'),
  'app: main.o a.o b.o c.o\n\tcc -o app $^\n%.o: %.c\n\tcc -O2 -c -o $@ $<\n',
);

/** Median µs per exec of each program, exec'd alternately. */
function spawnbench(programs: string[], touch = false, n = count): number[] {
  const result = spawnSync(
    join(tools, 'spawnbench'),
    [...(touch ? ['--touch'] : []), String(n), ...programs],
    {
      encoding: 'utf8',
    },
  );
  if (result.status !== 0)
    throw new Error(`spawnbench ${programs.join(' ')} failed: ${result.stdout}${result.stderr}`);
  return (JSON.parse(result.stdout) as { median_us: number }[]).map((sample) => sample.median_us);
}

// --- fapolicyd (Debian's package), permissive, with rules equivalent to ours ------------------
const fapolicydInstalled = spawnSync('sh', ['-c', 'command -v fapolicyd']).status === 0;
const fapolicydBackup = join(tools, 'fapolicyd-etc');
if (fapolicydInstalled) {
  cpSync('/etc/fapolicyd', fapolicydBackup, { recursive: true });
  writeFileSync(
    '/etc/fapolicyd/fapolicyd.conf',
    [
      'permissive = 1',
      'q_size = 640',
      'uid = root',
      'gid = root',
      'do_stat_report = 0',
      'subj_cache_size = 1549',
      'obj_cache_size = 8191',
      // As Debian ships it: root filesystems and tmpfs, so opens of ld.so and libc are seen too.
      'watch_fs = ext2,ext3,ext4,tmpfs,xfs,vfat,iso9660,btrfs',
      'trust = file',
      'integrity = none',
      'allow_filesystem_mark = 0',
      '',
    ].join('\n'),
  );
  writeFileSync(
    '/etc/fapolicyd/compiled.rules',
    [
      ...rules.map((rule) => `allow perm=execute all : sha256hash=${rule.identifier}`),
      'allow perm=any all : all',
      '',
    ].join('\n'),
  );
}

async function withFapolicyd<T>(work: () => T): Promise<T> {
  const daemon = spawn('fapolicyd', ['--debug-deny', '--permissive'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const onData = (data: Buffer) => {
      output += data.toString();
      if (output.includes('Starting to listen for events')) resolve();
    };
    daemon.stdout!.on('data', onData);
    daemon.stderr!.on('data', onData);
    daemon.on('exit', (code) => reject(new Error(`fapolicyd exited (${code}): ${output}`)));
  });
  try {
    return work();
  } finally {
    const exited = new Promise((resolve) => daemon.once('exit', resolve));
    daemon.kill('SIGTERM');
    await exited;
  }
}

// --- measurement ----------------------------------------------------------------------------
const names = Object.keys(sources);
type Series = {
  baseline: number[];
  warm: number[];
  warmRatio: number[];
  coldBaseline: number[];
  cold: number[];
  coldRatio: number[];
  warmAll: number[];
  warmAllRatio: number[];
  fapolicyd: number[];
  fapolicydRatio: number[];
};
const series: Record<string, Series> = {};
for (const name of names) {
  series[name] = {
    baseline: [],
    warm: [],
    warmRatio: [],
    coldBaseline: [],
    cold: [],
    coldRatio: [],
    warmAll: [],
    warmAllRatio: [],
    fapolicyd: [],
    fapolicydRatio: [],
  };
}
const coldDecisionUs: number[] = [];
const coldOverheadUs: number[] = [];
const userWritableWarmRatio: number[] = [];
const loaderGateRatio: number[] = [];
const closeWriteRatio: number[] = [];
const closeWriteMs = { off: [] as number[], on: [] as number[] };
let gateGaps = '';
const attack = {
  bounded: { quiet: [] as number[], attacked: [] as number[], ratio: [] as number[] },
  hashed: { quiet: [] as number[], attacked: [] as number[], ratio: [] as number[] },
};

/** nobody executes 4 sparse 20 GiB files, over and over, until killed. */
function startStall(): () => void {
  const dir = mkdtempSync(join(watched, 'stall-'));
  chownSync(dir, NOBODY, NOBODY);
  const files = [0, 1, 2, 3].map((i) => {
    const path = join(dir, `big-${i}`);
    copyFileSync(join(tools, 'tiny'), path);
    appendFileSync(path, `stall-${i}-${Date.now()}`);
    execFileSync('truncate', ['-s', '20G', path]);
    execFileSync('chmod', ['755', path]);
    chownSync(path, NOBODY, NOBODY);
    return path;
  });
  const loop = 'while :; do for f in "$@"; do "$f" 2>/dev/null & done; wait; done';
  const child = spawn(
    'setpriv',
    [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'sh', '-c', loop, 'sh', ...files],
    { stdio: 'ignore', detached: true },
  );
  return () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  };
}

/**
 * The cold decision of a 1 MiB approved file (rewritten before each exec, so hashed each time)
 * while nobody runs 4 sparse 20 GiB files, against the same with nobody quiet. "bounded": as
 * configured by default, the files are over the size that is hashed; "hashed": that bound
 * lifted, so the files really occupy the workers and only fair sharing keeps the decision fast.
 */
async function attackRound(kind: 'bounded' | 'hashed') {
  const monitor = new ExecMonitor();
  const decisions: ExecDecision[] = [];
  monitor.onDecision((decision) => decisions.push(decision));
  monitor.start(
    {
      mode: 'LOCKDOWN',
      watchPaths: [watched],
      ...(kind === 'hashed' ? { maxHashMiB: 65536 } : {}),
    },
    rules,
  );
  const coldDecision = async () => {
    decisions.length = 0;
    spawnbench([onWatched['1mib']!], true, 60);
    await new Promise((resolve) => setTimeout(resolve, 50));
    return median(decisions.filter((d) => d.path === onWatched['1mib']).map((d) => d.latencyUs));
  };
  try {
    const quiet = await coldDecision();
    const stop = startStall();
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const attacked = await coldDecision();
      attack[kind].quiet.push(quiet);
      attack[kind].attacked.push(attacked);
      attack[kind].ratio.push(attacked / quiet);
    } finally {
      stop();
    }
  } finally {
    monitor.stop();
  }
}

/** Gatehouse in LOCKDOWN on the watched tmpfs, with an allow rule per binary, vs. the plain copy. */
async function gatehouseRound() {
  const monitor = new ExecMonitor();
  const decisions: ExecDecision[] = [];
  monitor.onDecision((decision) => decisions.push(decision));
  monitor.start({ mode: 'LOCKDOWN', watchPaths: [watched] }, rules);
  try {
    for (const name of names) {
      spawnbench([onWatched[name]!], false, 3); // the first exec decides and marks; then the kernel knows
      const [plainUs, warmUs] = spawnbench([onPlain[name]!, onWatched[name]!]);
      series[name]!.warm.push(warmUs!);
      series[name]!.warmRatio.push(warmUs! / plainUs!);
      const [plainTouchUs, coldUs] = spawnbench([onPlain[name]!, onWatched[name]!], true);
      series[name]!.coldBaseline.push(plainTouchUs!);
      series[name]!.cold.push(coldUs!);
      series[name]!.coldRatio.push(coldUs! / plainTouchUs!);
    }
    {
      spawnbench([onWatched['user-writable']!], false, 3);
      const [plainUs, warmUs] = spawnbench([
        onPlain['user-writable']!,
        onWatched['user-writable']!,
      ]);
      userWritableWarmRatio.push(warmUs! / plainUs!);
    }
    {
      // Every mechanism on: the kernel maps python3's libraries under the BPF layer's hooks.
      gateGaps = monitor.metrics().gateGaps;
      spawnbench([onWatched['python3']!], false, 3);
      const [plainUs, gatedUs] = spawnbench(
        [onPlain['python3']!, onWatched['python3']!],
        false,
        40,
      );
      loaderGateRatio.push(gatedUs! / plainUs!);
    }
    const [plainUs, coldUs] = spawnbench([onPlain['1mib']!, onWatched['1mib']!], true, 100);
    coldOverheadUs.push(coldUs! - plainUs!);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const latencies = decisions.filter((d) => d.path === onWatched['1mib']).map((d) => d.latencyUs);
    if (latencies.length > 0) coldDecisionUs.push(median(latencies));
    const blocked = monitor.metrics().blocked;
    if (blocked > 0)
      throw new Error(`bench:exec: ${blocked} execs were blocked; the rules are wrong`);
  } finally {
    monitor.stop();
  }
}

/** Milliseconds for the write-heavy job on a tmpfs. */
function writeJob(dir: string): number {
  const work = mkdtempSync(join(dir, 'job-'));
  const started = performance.now();
  execFileSync('tar', ['-xf', tree, '-C', work]);
  cpSync(project, join(work, 'project'), { recursive: true });
  execFileSync('make', ['-s', '-C', join(work, 'project')]);
  execFileSync(join(work, 'project', 'app'));
  const ms = performance.now() - started;
  rmSync(work, { recursive: true, force: true });
  return ms;
}

/**
 * The job with no monitor and on the watched tmpfs in LOCKDOWN with close-write tracking on
 * (compiler rules for the gcc toolchain, so the program it builds must run on a transitive rule),
 * three times each, interleaved (off on on off off on) after an untimed warm-up: the ratio of the
 * medians, per round.
 */
async function closeWriteRound() {
  const off: number[] = [];
  const on: number[] = [];
  const tracked = () => {
    const monitor = new ExecMonitor();
    monitor.start({ mode: 'LOCKDOWN', watchPaths: [watched], transitive: true }, [
      ...rules,
      ...compilerRules,
    ]);
    try {
      try {
        on.push(writeJob(watched));
      } catch (error) {
        const m = monitor.metrics();
        throw new Error(
          `bench:exec: the tracked build failed (${(error as Error).message}); tracker: ${m.compilersSeen} compilers seen, ${m.compilerWrites} writes by them, ${m.transitiveMinted} minted, ${m.transitiveRefused} refused, ${m.compilersTainted} tainted`,
          { cause: error },
        );
      }
      if (monitor.metrics().transitiveMinted === 0)
        throw new Error('bench:exec: the build minted no transitive rule');
    } finally {
      monitor.stop();
    }
  };
  writeJob(plain); // whatever the previous step left running settles first
  for (const tracking of [false, true, true, false, false, true]) {
    if (tracking) tracked();
    else off.push(writeJob(plain));
  }
  closeWriteMs.off.push(...off);
  closeWriteMs.on.push(...on);
  closeWriteRatio.push(median(on) / median(off));
}

/** No monitor at all, then a whole-machine configuration, back to back: a ratio per round. */
async function machineWideRound(kind: 'warmAll' | 'fapolicyd') {
  const programs = names.map((name) => onWatched[name]!);
  const before = spawnbench(programs);
  let during: number[];
  if (kind === 'fapolicyd') {
    if (!fapolicydInstalled) return;
    during = await withFapolicyd(() => {
      spawnbench(programs, false, 20);
      return spawnbench(programs);
    });
  } else {
    // Every local filesystem marked, as a deployed agent does. MONITOR, so that nothing else on
    // this machine can be refused meanwhile; a warm allow costs the same in either mode, since
    // the kernel's ignore mark answers before any mode is consulted.
    const monitor = new ExecMonitor();
    monitor.start({ mode: 'MONITOR' }, rules);
    try {
      spawnbench(programs, false, 3);
      during = spawnbench(programs);
    } finally {
      monitor.stop();
    }
  }
  names.forEach((name, i) => {
    series[name]!.baseline.push(before[i]!);
    series[name]![kind].push(during[i]!);
    series[name]![kind === 'fapolicyd' ? 'fapolicydRatio' : 'warmAllRatio'].push(
      during[i]! / before[i]!,
    );
  });
}

try {
  writeJob(plain); // the tree and the toolchain in the page cache before anything is timed
  for (let round = 0; round < rounds; round++) {
    const steps = [
      () => gatehouseRound(),
      () => attackRound('bounded'),
      () => attackRound('hashed'),
      () => machineWideRound('warmAll'),
      () => machineWideRound('fapolicyd'),
      () => closeWriteRound(),
    ];
    for (let i = 0; i < steps.length; i++) await steps[(round + i) % steps.length]!();
    log(`round ${round + 1}/${rounds} done`);
  }

  // Hash throughput on 200 MiB against coreutils' sha256sum, same file, interleaved.
  const big = join(watched, 'hash-200mib');
  writeFileSync(big, randomBytes(200 * 1024 * 1024));
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let i = 0; i < 5; i++) {
    let started = performance.now();
    spawnSync('sha256sum', [big]);
    theirs.push(performance.now() - started);
    started = performance.now();
    await nativeAddon().sha256File(big);
    ours.push(performance.now() - started);
  }
  rmSync(big);

  const round2 = (value: number) => Math.round(value * 1000) / 1000;
  const result: Record<string, Record<string, number | null>> = {};
  for (const [name, x] of Object.entries(series)) {
    const orNull = (values: number[]) => (values.length > 0 ? round2(median(values)) : null);
    result[name] = {
      baseline_us: orNull(x.baseline),
      warm_us: orNull(x.warm),
      cold_us: orNull(x.cold),
      fapolicyd_us: orNull(x.fapolicyd),
      warm_ratio: orNull(x.warmRatio),
      cold_ratio: orNull(x.coldRatio),
      fapolicyd_ratio: orNull(x.fapolicydRatio),
      warm_all_filesystems_us: orNull(x.warmAll),
      warm_all_filesystems_ratio: orNull(x.warmAllRatio),
    };
  }
  const hashRatio = round2(median(theirs) / median(ours));
  const summary = {
    ...result,
    cold_1mib_decision_us: median(coldDecisionUs),
    cold_1mib_exec_overhead_us: round2(median(coldOverheadUs)),
    attack_cold_ratio: round2(median(attack.bounded.ratio)),
    attack_cold_us: {
      quiet: median(attack.bounded.quiet),
      attacked: median(attack.bounded.attacked),
    },
    attack_cold_ratio_hashed: round2(median(attack.hashed.ratio)),
    attack_cold_hashed_us: {
      quiet: median(attack.hashed.quiet),
      attacked: median(attack.hashed.attacked),
    },
    user_writable_warm_ratio: round2(median(userWritableWarmRatio)),
    loader_gate_ratio: round2(median(loaderGateRatio)),
    close_write_overhead_ratio: round2(median(closeWriteRatio)),
    close_write_job_ms: {
      no_monitor: Math.round(median(closeWriteMs.off)),
      tracking: Math.round(median(closeWriteMs.on)),
    },
    bpf_layer: gateGaps === '' ? 'active' : `not active: ${gateGaps}`,
    hash_ratio: hashRatio,
    hash_mib_per_s: Math.round((200 / median(ours)) * 1000),
    sha256sum_mib_per_s: Math.round((200 / median(theirs)) * 1000),
    hash_acceleration: nativeAddon().hashAcceleration(),
    rounds,
    execs_per_sample: count,
    fapolicyd: fapolicydInstalled
      ? "measured (Debian's package, permissive, its default watch_fs, an allow rule per binary's sha256)"
      : 'not installed: apt-get install fapolicyd',
  };
  if (json) {
    console.log(JSON.stringify(summary, null, 2));
  } else {
    console.log('\nmedian µs per exec (ratio to no monitor)');
    for (const [name, r] of Object.entries(result)) {
      console.log(
        `  ${name.padEnd(9)} baseline ${r.baseline_us}  warm ${r.warm_us} (${r.warm_ratio})  warm, all filesystems ${r.warm_all_filesystems_us} (${r.warm_all_filesystems_ratio})  cold ${r.cold_us} (${r.cold_ratio})  fapolicyd ${r.fapolicyd_us ?? '-'} (${r.fapolicyd_ratio ?? '-'})`,
      );
    }
    console.log(
      `  cold decision, 1 MiB binary: ${summary.cold_1mib_decision_us} µs in the monitor`,
    );
    console.log(
      `  cold decision while nobody execs 4 sparse 20 GiB files: x${summary.attack_cold_ratio} (${summary.attack_cold_us.attacked} vs ${summary.attack_cold_us.quiet} µs); with them hashed (no size bound): x${summary.attack_cold_ratio_hashed} (${summary.attack_cold_hashed_us.attacked} vs ${summary.attack_cold_hashed_us.quiet} µs)`,
    );
    console.log(
      `  warm exec of an approved program its user can write: x${summary.user_writable_warm_ratio} of no monitor`,
    );
    console.log(
      `  python3 (many libraries), every mechanism on: x${summary.loader_gate_ratio} of no monitor (BPF layer ${summary.bpf_layer})`,
    );
    console.log(
      `  extract 4000 files, make a C project, run it; close-write tracking on: x${summary.close_write_overhead_ratio} of no monitor (${summary.close_write_job_ms.tracking} vs ${summary.close_write_job_ms.no_monitor} ms)`,
    );
    console.log(
      `  SHA-256: ${summary.hash_mib_per_s} MiB/s vs sha256sum ${summary.sha256sum_mib_per_s} MiB/s (ratio ${hashRatio}, ${summary.hash_acceleration})`,
    );
  }
} finally {
  if (fapolicydInstalled && existsSync(fapolicydBackup)) {
    rmSync('/etc/fapolicyd', { recursive: true, force: true });
    cpSync(fapolicydBackup, '/etc/fapolicyd', { recursive: true });
  }
  for (const dir of [watched, plain]) {
    spawnSync('umount', ['-l', dir]);
    rmSync(dir, { recursive: true, force: true });
  }
  rmSync(tools, { recursive: true, force: true });
}
