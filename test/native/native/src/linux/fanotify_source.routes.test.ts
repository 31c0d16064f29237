// The routes around fanotify's exec events, tried as nobody: a path staged in a mount namespace of
// one's own, the dynamic loader given a path, LD_PRELOAD, a memory file, a filesystem mounted in a
// user namespace. LOCKDOWN only on a private tmpfs; the BPF layer's refusals of the other routes
// are machine-wide by nature, and only for those routes, which nothing here needs.
import { execFileSync } from 'node:child_process';
import { chownSync, copyFileSync, linkSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ExecMonitor,
  type ExecDecision,
  type ExecMonitorOptions,
} from '../../../../../native/index';
import { NOBODY, runAs, type RunAs } from '../../../../helpers/as-user';
import { copyExecutable, mountTmpfs, sha256sum } from '../../../../helpers/files';
import { useGateOnTmpfs } from '../../../../helpers/exec-gate';
import { rootAvailable } from '../../../../helpers/prerequisites';
import { eventually } from '../../../../helpers/wait';

const LOADER = '/lib64/ld-linux-x86-64.so.2';
const asNobody = (command: readonly string[]) => runAs(NOBODY, command);
const refused = (result: RunAs) => result.refused;

/** Can nobody make a user namespace here (unprivileged user namespaces enabled)? */
function userNamespacesAllowed(): boolean {
  return asNobody(['unshare', '-Ur', 'true']).status === 0;
}

describe.runIf(rootAvailable('the exec-gate route tests'))(
  'the routes around the exec gate (root, LOCKDOWN on a private tmpfs)',
  () => {
    const gate = useGateOnTmpfs('routes');
    let tools: string;
    beforeAll(() => {
      tools = join(gate.dir, 'tools');
      mkdirSync(tools);
    });
    const start = (options: Partial<ExecMonitorOptions> = {}) =>
      gate.start({ scopes: { allowed: [tools] }, ...options });
    /** The decision on an exec that took this route, once the monitor has made it. */
    const decisionOn = (decisions: ExecDecision[], reason: string) =>
      eventually(() => decisions.find((d) => d.reason === reason), 'the decision');

    describe('path scopes', () => {
      it('a program in an allowed path runs, and the allow does not follow it to another path', async () => {
        const { decisions } = start();
        const tool = copyExecutable('/bin/true', join(tools, `tool-${Date.now()}`), 'tool');
        expect(asNobody([tool]).status).toBe(0);
        const allowed = await eventually(
          () => decisions.find((d) => d.path === tool),
          'the decision',
        );
        expect(allowed.decision).toBe('ALLOW_SCOPE');
        // The same file (inode) under a path outside the scope: decided again, and unknown.
        const elsewhere = join(gate.home, `linked-${Date.now()}`);
        linkSync(tool, elsewhere);
        expect(refused(asNobody([elsewhere]))).toBe(true);
        // And the allowed path still works (decided again, not from a cache of the inode).
        expect(asNobody([tool]).status).toBe(0);
      });

      it.runIf(userNamespacesAllowed())(
        "a path staged in a mount namespace of nobody's own is not an allowed path",
        async () => {
          const { decisions } = start();
          const evil = gate.nobodysCopy();
          const placeholder = join(tools, `placeholder-${Date.now()}`);
          copyFileSync('/bin/true', placeholder);
          execFileSync('chmod', ['755', placeholder]);
          // In nobody's own mount namespace, evil appears at the allowed path.
          const staged = asNobody([
            'unshare',
            '-Urm',
            'sh',
            '-c',
            'mount --bind "$1" "$2" && "$2"',
            'sh',
            evil,
            placeholder,
          ]);
          expect(refused(staged), staged.output).toBe(true);
          const blocked = await eventually(
            () =>
              decisions.find((d) => d.sha256 === sha256sum(evil) && d.decision === 'BLOCK_UNKNOWN'),
            'the decision',
          );
          expect(blocked.rule).toBeNull();
          // Nor does anything stick to the file at its real path.
          expect(refused(asNobody([evil]))).toBe(true);
        },
      );
    });

    describe('the BPF layer', () => {
      it('reports whether it gates the other routes here, and if not, why', () => {
        start();
        const gaps = gate.monitor!.metrics().gateGaps;
        if (gaps) {
          expect(gaps).toMatch(/BPF|built without/);
          console.warn(`exec gate: the BPF layer is not active here: ${gaps}`);
        }
      });

      /** The BPF layer is active on this machine (kernel and build). */
      const active = (() => {
        if (!rootAvailable('the BPF layer probe')) return false;
        const probe = new ExecMonitor();
        const dir = mountTmpfs('routes-probe');
        try {
          probe.start({ mode: 'MONITOR', watchPaths: [dir.dir] });
          return probe.metrics().gateGaps === '';
        } finally {
          probe.stop();
          dir.unmount();
        }
      })();

      describe.runIf(active)('where the kernel runs it', () => {
        it('the dynamic loader given a path to an unknown program: refused, with its route', async () => {
          const { decisions } = start();
          const evil = gate.nobodysCopy();
          expect(refused(asNobody([LOADER, evil]))).toBe(true);
          const event = await decisionOn(decisions, 'untrusted-library');
          expect(event.decision).toBe('BLOCK_UNKNOWN');
        });

        it('the same program, once approved and run, runs through the loader too', () => {
          const { monitor } = start();
          const approved = gate.nobodysCopy();
          monitor.applyRuleChanges([
            { type: 'BINARY', identifier: sha256sum(approved), policy: 'ALLOWLIST' },
          ]);
          expect(asNobody([approved]).status).toBe(0);
          expect(asNobody([LOADER, approved]).status).toBe(0);
        });

        it('LD_PRELOAD of a library nobody wrote into an approved program: refused', () => {
          start();
          const library = join(gate.home, `evil-${Date.now()}.so`);
          // Any shared object will do: the point is where it lies and who can write it.
          copyFileSync('/lib/x86_64-linux-gnu/libc.so.6', library);
          chownSync(library, NOBODY, NOBODY);
          const result = asNobody(['env', `LD_PRELOAD=${library}`, '/bin/true']);
          expect(result.output).toMatch(/cannot be preloaded|Operation not permitted/);
        });

        it('a program started from memory (memfd): refused in LOCKDOWN, recorded in MONITOR', async () => {
          const script = join(gate.home, `memfd-${Date.now()}.py`);
          writeFileSync(
            script,
            [
              'import os, sys',
              'fd = os.memfd_create("evil", 0)',
              'os.write(fd, open("/bin/true", "rb").read())',
              'try:',
              '    os.execve(fd, ["evil"], {})',
              'except OSError as error:',
              '    print(error)',
              '    sys.exit(1)',
            ].join('\n'),
          );
          const { decisions } = start();
          expect(refused(asNobody(['/usr/bin/python3', script]))).toBe(true);
          expect((await decisionOn(decisions, 'memory-file')).decision).toBe('BLOCK_UNKNOWN');
          gate.monitor!.stop();
          const recorded = start({ mode: 'MONITOR' });
          expect(asNobody(['/usr/bin/python3', script]).status).toBe(0);
          expect((await decisionOn(recorded.decisions, 'memory-file')).decision).toBe(
            'ALLOW_UNKNOWN',
          );
        });

        it.runIf(userNamespacesAllowed())(
          'a program on a tmpfs nobody mounted in a user namespace, below a watched path: refused',
          async () => {
            const { decisions } = start();
            const dir = join(gate.home, `mnt-${Date.now()}`);
            mkdirSync(dir);
            chownSync(dir, NOBODY, NOBODY);
            const result = asNobody([
              'unshare',
              '-Urm',
              'sh',
              '-c',
              'mount -t tmpfs none "$1" && cp /bin/true "$1/evil" && "$1/evil"',
              'sh',
              dir,
            ]);
            expect(refused(result), result.output).toBe(true);
            expect((await decisionOn(decisions, 'namespace-mount')).decision).toBe('BLOCK_UNKNOWN');
          },
        );
      });
    });
  },
);
