// Each Linux posture check on this very machine, as root like the service. The expected status
// is worked out here from the system itself, by other means than the check uses where there are
// any, so the test holds on an encrypted laptop as on an unencrypted CI container.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { systemHost } from '../../../../../main/agent/posture/host';
import { LINUX_CHECKS } from '../../../../../main/agent/posture/linux';
import { contextFor } from '../../../../helpers/posture';
import { rootAvailable } from '../../../../helpers/prerequisites';

const SBIN = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
const installed = (name: string) => SBIN.some((dir) => existsSync(`${dir}/${name}`));
const run = (command: string, args: string[]) =>
  spawnSync(command, args, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });

/** Runs the check of this id from the list the service runs on Linux. */
async function onThisMachine(id: string) {
  const check = LINUX_CHECKS.find((candidate) => candidate.id === id);
  if (!check) throw new Error(`no Linux posture check has the id ${id}`);
  const verdict = await check.run(contextFor(systemHost(), { now: Date.now }));
  console.info(`${check.id}: ${verdict.status} — ${verdict.evidence}`);
  return verdict;
}

describe.runIf(process.platform === 'linux' && rootAvailable('the posture checks on this machine'))(
  'Linux posture checks on this machine (root)',
  () => {
    it('disk encryption agrees with lsblk on the devices beneath /', async () => {
      const verdict = await onThisMachine('linux.disk-encryption');
      const source = execFileSync('findmnt', ['-n', '-o', 'SOURCE', '/'], { encoding: 'utf8' })
        .trim()
        .replace(/\[.*\]$/, '');
      if (!source.startsWith('/dev/')) {
        expect(verdict.status).toBe('unknown');
        return;
      }
      // lsblk -s lists the device and everything it sits on.
      const types = execFileSync('lsblk', ['-s', '-n', '-o', 'TYPE', source], {
        encoding: 'utf8',
      })
        .split('\n')
        .map((type) => type.trim());
      expect(verdict.status).toBe(types.includes('crypt') ? 'pass' : 'fail');
    });

    it('firewall agrees with the firewall tools that are installed', async () => {
      const verdict = await onThisMachine('linux.firewall');
      const tools = ['ufw', 'firewall-cmd', 'nft'].filter(installed);
      if (tools.length === 0) {
        expect(verdict).toEqual({
          status: 'fail',
          evidence: 'none of ufw, firewalld or nftables (nft) is installed',
        });
        return;
      }
      const ufwActive =
        tools.includes('ufw') && /Status: active/.test(run('ufw', ['status']).stdout);
      const firewalldRunning =
        tools.includes('firewall-cmd') && run('firewall-cmd', ['--state']).status === 0;
      if (ufwActive || firewalldRunning) expect(verdict.status).toBe('pass');
      else expect(['pass', 'fail', 'unknown']).toContain(verdict.status); // nftables decides
    });

    it('automatic updates agree with dpkg and apt-config', async () => {
      const verdict = await onThisMachine('linux.automatic-updates');
      if (!installed('apt-config')) {
        expect(verdict.status).toBe('unknown');
        return;
      }
      const dpkg = run('dpkg-query', ['-W', '-f', '${Status}', 'unattended-upgrades']);
      const packageInstalled = dpkg.status === 0 && dpkg.stdout.includes('install ok installed');
      const dump = run('apt-config', ['dump']).stdout;
      const on = (key: string) =>
        new RegExp(`^APT::Periodic::${key} "(always|[1-9]\\d*\\w*)";$`, 'm').test(dump);
      if (!packageInstalled) {
        expect(verdict.status).toBe('fail');
        expect(verdict.evidence).toMatch(/^unattended-upgrades is not installed/);
      } else if (!on('Update-Package-Lists') || !on('Unattended-Upgrade')) {
        expect(verdict.status).toBe('fail');
      } else {
        expect(['pass', 'fail']).toContain(verdict.status); // the origins decide
      }
    });

    it('pending updates agree with apt-get and the reboot flag', async () => {
      const verdict = await onThisMachine('linux.pending-updates');
      const simulation = run('apt-get', ['-s', 'dist-upgrade']);
      const security = simulation.stdout
        .split('\n')
        .filter((line) => line.startsWith('Inst ') && /security/i.test(line)).length;
      const reboot = existsSync('/run/reboot-required');
      if (security > 0 || reboot) {
        expect(verdict.status).toBe('fail');
        if (security > 0) expect(verdict.evidence).toContain(`${security} security update`);
        if (reboot) expect(verdict.evidence).toContain('a reboot is required');
      } else {
        expect(['pass', 'unknown']).toContain(verdict.status); // unknown when lists are stale
        expect(verdict.evidence).toContain('no security updates pending');
      }
    });

    it('Secure Boot agrees with how this machine booted', async () => {
      const verdict = await onThisMachine('linux.secure-boot');
      if (!existsSync('/sys/firmware')) expect(verdict.status).toBe('unknown');
      else if (!existsSync('/sys/firmware/efi')) expect(verdict.status).toBe('fail');
      else if (installed('mokutil')) {
        const state = run('mokutil', ['--sb-state']).stdout;
        expect(verdict.status).toBe(/SecureBoot enabled/.test(state) ? 'pass' : 'fail');
      } else expect(verdict.status).not.toBe('pass');
    });

    it('SSH root login agrees with sshd -T', async () => {
      const verdict = await onThisMachine('linux.ssh-root-login');
      if (!installed('sshd')) {
        expect(verdict.status).toBe('pass');
        expect(verdict.evidence).toContain('no SSH server is installed');
        return;
      }
      const effective = run('sshd', ['-T']);
      const value = /^permitrootlogin (\S+)$/m.exec(effective.stdout)?.[1];
      if (value) expect(verdict.status).toBe(value === 'no' ? 'pass' : 'fail');
      else expect(verdict.evidence).toContain('sshd -T');
    });

    it('screen lock is unknown unless logind shows a desktop session, and never a guess', async () => {
      const verdict = await onThisMachine('linux.screen-lock');
      const sessions = run('loginctl', ['list-sessions', '--no-legend']);
      if (sessions.status !== 0) {
        expect(verdict.status).toBe('unknown');
        expect(verdict.evidence).toContain('cannot list login sessions');
        return;
      }
      const graphical = sessions.stdout
        .split('\n')
        .map((line) => line.trim().split(/\s+/)[0])
        .filter((id): id is string => !!id)
        .some((id) =>
          /^Type=(x11|wayland|mir)$/m.test(
            run('loginctl', ['show-session', id, '-p', 'Type']).stdout,
          ),
        );
      if (!graphical) expect(verdict.status).toBe('unknown');
      else expect(['pass', 'fail', 'unknown']).toContain(verdict.status);
    });
  },
);
