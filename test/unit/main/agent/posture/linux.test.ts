// Every Linux posture check against prepared machines (files under a fake root, scripted command
// outputs, several recorded on Debian 12), one case per status at least.
import { describe, expect, it } from 'vitest';
import {
  linuxAutomaticUpdates,
  linuxDiskEncryption,
  linuxFirewall,
  linuxPendingUpdates,
  linuxScreenLock,
  linuxSecureBoot,
  linuxSshRootLogin,
  nftFiltersInput,
  parseAptConfig,
  parseAptSimulation,
  parseGsettings,
  parseRootMount,
} from '../../../../../main/agent/posture/linux';
import type { GatehouseFacts } from '../../../../../main/agent/posture/check';
import {
  execGateCoverage,
  gatehouseHealthy,
  UNGATED_ROUTES,
} from '../../../../../main/agent/posture/gatehouse';
import { fixture, HEALTHY, NOW, runOn, type Entry } from '../../../../helpers/posture';

const DAY = 24 * 3600_000;

describe('disk encryption (LUKS)', () => {
  const mountinfo = (device: string, fstype = 'ext4', source = '/dev/mapper/vg-root') =>
    `22 27 0:21 / /proc rw,relatime - proc proc rw\n27 1 ${device} / / rw,relatime - ${fstype} ${source} rw\n`;

  // LVM on LUKS on a partition: / → dm-1 (LVM) → dm-0 (CRYPT-LUKS2) → nvme0n1p3 → nvme0n1.
  const lvmOnLuks: Record<string, Entry> = {
    '/proc/self/mountinfo': mountinfo('254:1'),
    '/sys/devices/virtual/block/dm-1/dm/uuid': 'LVM-abc\n',
    '/sys/devices/virtual/block/dm-1/dm/name': 'vg-root\n',
    '/sys/devices/virtual/block/dm-1/slaves/dm-0': { link: '../../dm-0' },
    '/sys/devices/virtual/block/dm-0/dm/uuid': 'CRYPT-LUKS2-0a1b2c3d-luks-root\n',
    '/sys/devices/virtual/block/dm-0/dm/name': 'luks-root\n',
    '/sys/devices/virtual/block/dm-0/slaves/nvme0n1p3': {
      link: '../../../../pci/nvme0n1/nvme0n1p3',
    },
    '/sys/devices/pci/nvme0n1/nvme0n1p3/partition': '3\n',
    '/sys/dev/block/254:1': { link: '../../devices/virtual/block/dm-1' },
    '/sys/class/block/dm-0': { link: '../../devices/virtual/block/dm-0' },
    '/sys/class/block/nvme0n1p3': { link: '../../devices/pci/nvme0n1/nvme0n1p3' },
  };

  // btrfs reports an anonymous device number: the mount source names the device.
  const btrfsOnLuks: Record<string, Entry> = {
    '/proc/self/mountinfo': mountinfo('0:33', 'btrfs', '/dev/mapper/luks-root'),
    '/dev/mapper/luks-root': { link: '../dm-0' },
    '/dev/dm-0': '',
    '/sys/devices/virtual/block/dm-0/dm/uuid': 'CRYPT-LUKS1-ffff-luks-root\n',
    '/sys/class/block/dm-0': { link: '../../devices/virtual/block/dm-0' },
  };

  it.each([
    [
      'passes when / sits on a dm-crypt device, through LVM',
      lvmOnLuks,
      'LUKS2 device luks-root (dm-0',
    ],
    [
      'passes for btrfs, whose mount reports an anonymous device, through the mount source',
      btrfsOnLuks,
      'LUKS1',
    ],
  ])('%s', async (_name, files, evidence) => {
    const verdict = await runOn(linuxDiskEncryption, { files });
    expect(verdict.status).toBe('pass');
    expect(verdict.evidence).toContain(evidence);
  });

  it('fails for a plain partition, naming what it read (recorded mountinfo)', async () => {
    const verdict = await runOn(linuxDiskEncryption, {
      files: {
        '/proc/self/mountinfo': fixture('linux/mountinfo.plain-disk.txt'),
        '/sys/devices/pci/vda/dev': '254:0\n',
        '/sys/dev/block/254:0': { link: '../../devices/pci/vda' },
      },
    });
    expect(verdict).toEqual({
      status: 'fail',
      evidence: '/ is ext4 on /dev/vda; no dm-crypt (LUKS) device beneath it (read vda)',
    });
  });

  it('fails for a partition whose disk is not encrypted, after walking up to the disk', async () => {
    const verdict = await runOn(linuxDiskEncryption, {
      files: {
        '/proc/self/mountinfo': mountinfo('8:2', 'ext4', '/dev/sda2'),
        '/sys/devices/pci/sda/sda2/partition': '2\n',
        '/sys/dev/block/8:2': { link: '../../devices/pci/sda/sda2' },
      },
    });
    expect(verdict.status).toBe('fail');
    expect(verdict.evidence).toContain('(read sda2 → sda)');
  });

  it('is unknown when / is not on a block device (a container overlay)', async () => {
    const verdict = await runOn(linuxDiskEncryption, {
      files: { '/proc/self/mountinfo': mountinfo('0:52', 'overlay', 'overlay') },
    });
    expect(verdict.status).toBe('unknown');
    expect(verdict.evidence).toContain('/ is overlay on overlay, which is not a block device');
  });

  it('is unknown when mountinfo cannot be read', async () => {
    expect((await runOn(linuxDiskEncryption, {})).status).toBe('unknown');
  });

  it('takes the last filesystem mounted on /', () => {
    expect(
      parseRootMount('1 0 8:1 / / rw - ext4 /dev/sda1 rw\n2 1 254:0 / / rw - xfs /dev/dm-0 rw\n'),
    ).toEqual({ majorMinor: '254:0', fstype: 'xfs', source: '/dev/dm-0' });
  });
});

describe('firewall', () => {
  const installed = (...names: string[]) =>
    Object.fromEntries(names.map((name) => [`/usr/sbin/${name}`, '#!/bin/sh\n'])) as Record<
      string,
      Entry
    >;

  it('passes when ufw is active', async () => {
    const verdict = await runOn(linuxFirewall, {
      files: installed('ufw'),
      commands: { 'ufw status': fixture('linux/ufw-status.active.txt') },
    });
    expect(verdict).toEqual({ status: 'pass', evidence: 'ufw: `ufw status`: Status: active' });
  });

  it('passes on ufw.conf ENABLED=yes when ufw status cannot run', async () => {
    const verdict = await runOn(linuxFirewall, {
      files: { ...installed('ufw'), '/etc/ufw/ufw.conf': 'ENABLED=yes\nLOGLEVEL=low\n' },
      commands: {
        'ufw status': { code: 1, stderr: 'ERROR: You need to be root to run this script' },
      },
    });
    expect(verdict.status).toBe('pass');
    expect(verdict.evidence).toContain('ENABLED=yes in /etc/ufw/ufw.conf');
  });

  it('passes when firewalld is running', async () => {
    const verdict = await runOn(linuxFirewall, {
      files: installed('firewall-cmd'),
      commands: { 'firewall-cmd --state': 'running\n' },
    });
    expect(verdict.status).toBe('pass');
  });

  it('passes when an nftables input chain drops traffic', async () => {
    const verdict = await runOn(linuxFirewall, {
      files: installed('nft'),
      commands: { 'nft list ruleset': fixture('linux/nft-list-ruleset.input-drop.txt') },
    });
    expect(verdict).toEqual({
      status: 'pass',
      evidence: 'nftables: `nft list ruleset`: input chain input drops or rejects traffic',
    });
  });

  it('fails when nothing is installed', async () => {
    expect(await runOn(linuxFirewall, {})).toEqual({
      status: 'fail',
      evidence: 'none of ufw, firewalld or nftables (nft) is installed',
    });
  });

  it("fails when ufw is inactive and nftables has Debian's accept-all ruleset", async () => {
    const verdict = await runOn(linuxFirewall, {
      files: installed('ufw', 'nft'),
      commands: {
        'ufw status': fixture('linux/ufw-status.inactive.txt'),
        'nft list ruleset': fixture('linux/nft-list-ruleset.debian-default.txt'),
      },
    });
    expect(verdict.status).toBe('fail');
    expect(verdict.evidence).toBe(
      'ufw: `ufw status`: Status: inactive; nftables: `nft list ruleset`: input chain input accepts everything',
    );
  });

  it('fails for firewalld not running', async () => {
    const verdict = await runOn(linuxFirewall, {
      files: installed('firewall-cmd'),
      commands: { 'firewall-cmd --state': { code: 252, stdout: 'not running\n' } },
    });
    expect(verdict.status).toBe('fail');
  });

  it('is unknown when the installed firewall cannot be asked', async () => {
    const verdict = await runOn(linuxFirewall, {
      files: installed('nft'),
      commands: { 'nft list ruleset': { code: 1, stderr: 'Operation not permitted' } },
    });
    expect(verdict).toEqual({
      status: 'unknown',
      evidence: 'nftables: nft list ruleset exited with 1: Operation not permitted',
    });
  });

  it('does not count a ruleset that only forwards (Docker) as a firewall', () => {
    expect(nftFiltersInput(fixture('linux/nft-list-ruleset.docker-only.txt'))).toEqual({
      filters: false,
      summary: '3 nftables chains, none on the input hook',
    });
    expect(nftFiltersInput('').summary).toBe('the nftables ruleset is empty');
  });

  it('counts an input chain as filtering only when what is not accepted is dropped', () => {
    const chain = (body: string) =>
      `table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; ${body}\n\t}\n}\n`;
    // Dropping invalid packets while accepting everything else is no firewall.
    expect(nftFiltersInput(chain('policy accept;\n\t\tct state invalid drop')).filters).toBe(false);
    expect(nftFiltersInput(chain('policy accept;\n\t\ttcp dport 23 reject')).filters).toBe(false);
    expect(nftFiltersInput(chain('policy drop;\n\t\tct state established accept')).filters).toBe(
      true,
    );
    expect(
      nftFiltersInput(
        chain(
          'policy accept;\n\t\tct state established accept\n\t\tcounter packets 3 bytes 180 drop',
        ),
      ).filters,
    ).toBe(true);
    expect(
      nftFiltersInput(
        chain('policy accept;\n\t\tiif lo accept\n\t\treject with icmpx admin-prohibited'),
      ).filters,
    ).toBe(true);
  });
});

describe('automatic security updates', () => {
  const withUnattended: Record<string, Entry> = {
    '/usr/bin/unattended-upgrade': '#!/usr/bin/python3\n',
  };
  /** The check where `apt-config dump` prints `dump`; unattended-upgrades is installed by default. */
  const aptDump = (dump: string, files = withUnattended) =>
    runOn(linuxAutomaticUpdates, { files, commands: { 'apt-config dump': dump } });

  it('passes with unattended-upgrades on and a security origin (recorded apt-config dump)', async () => {
    const verdict = await aptDump(fixture('linux/apt-config-dump.unattended-on.txt'));
    expect(verdict.status).toBe('pass');
    expect(verdict.evidence).toContain(
      'APT::Periodic::Update-Package-Lists "1", APT::Periodic::Unattended-Upgrade "1"',
    );
    expect(verdict.evidence).toContain('label=Debian-Security');
  });

  it('fails on a default Debian 12 (recorded): not installed, not switched on', async () => {
    const verdict = await aptDump(fixture('linux/apt-config-dump.debian12-default.txt'), {});
    expect(verdict).toEqual({
      status: 'fail',
      evidence:
        'unattended-upgrades is not installed; APT::Periodic::Update-Package-Lists not set, APT::Periodic::Unattended-Upgrade not set',
    });
  });

  it('fails when installed but APT::Periodic leaves it off', async () => {
    const verdict = await aptDump(
      `${fixture('linux/apt-config-dump.debian12-default.txt')}APT::Periodic::Unattended-Upgrade "0";\n`,
    );
    expect(verdict.status).toBe('fail');
    expect(verdict.evidence).toContain('not switched on');
  });

  it('fails when no allowed origin is a security archive', async () => {
    const verdict = await aptDump(
      `${fixture('linux/apt-config-dump.unattended-no-security-origin.txt')}APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n`,
    );
    expect(verdict.status).toBe('fail');
    expect(verdict.evidence).toContain('none of its origins is a security archive');
  });

  it('is unknown without apt', async () => {
    expect((await runOn(linuxAutomaticUpdates, {})).status).toBe('unknown');
  });

  it('reads list entries in order', () => {
    const config = parseAptConfig('A::B "";\nA::B:: "x";\nA::B:: "y";\nC "1";\n');
    expect(config.get('A::B')).toEqual(['', 'x', 'y']);
    expect(config.get('C')).toEqual(['1']);
  });
});

describe('pending security updates and reboot', () => {
  const freshLists: Record<string, Entry> = {
    '/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease': {
      text: 'x',
      mtime: NOW - DAY,
    },
  };
  const simulate = 'apt-get -s -o Debug::NoLocking=1 dist-upgrade';

  it('fails with security updates pending (recorded on Debian 12)', async () => {
    const verdict = await runOn(linuxPendingUpdates, {
      files: freshLists,
      commands: { [simulate]: fixture('linux/apt-get-s-dist-upgrade.security-pending.txt') },
    });
    const recorded = parseAptSimulation(
      fixture('linux/apt-get-s-dist-upgrade.security-pending.txt'),
    );
    expect(recorded.security.length).toBeGreaterThan(0);
    expect(verdict.status).toBe('fail');
    expect(verdict.evidence).toContain(
      `${recorded.security.length} security updates pending (${recorded.security.slice(0, 5).join(', ')}, …) of ${recorded.total} upgradable`,
    );
  });

  it('passes with only non-security updates, fresh lists and no reboot owed', async () => {
    const verdict = await runOn(linuxPendingUpdates, {
      files: freshLists,
      commands: { [simulate]: fixture('linux/apt-get-s-dist-upgrade.no-security.txt') },
    });
    expect(verdict.status).toBe('pass');
    expect(verdict.evidence).toMatch(/^no security updates pending \(\d+ other upgradable\)/);
    expect(verdict.evidence).toContain('no reboot required');
  });

  it('fails when a reboot is required, naming the packages', async () => {
    const verdict = await runOn(linuxPendingUpdates, {
      files: {
        ...freshLists,
        '/run/reboot-required': '*** System restart required ***\n',
        '/run/reboot-required.pkgs': 'linux-image-6.1.0-28-amd64\n',
      },
      commands: { [simulate]: '' },
    });
    expect(verdict.status).toBe('fail');
    expect(verdict.evidence).toContain(
      'a reboot is required (for linux-image-6.1.0-28-amd64) (/run/reboot-required)',
    );
  });

  it('is unknown when the package lists are too old to tell', async () => {
    const verdict = await runOn(linuxPendingUpdates, {
      files: {
        '/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease': {
          text: 'x',
          mtime: NOW - 30 * DAY,
        },
      },
      commands: { [simulate]: '' },
    });
    expect(verdict.status).toBe('unknown');
    expect(verdict.evidence).toContain('the lists are too old to say what is pending');
  });

  it('is unknown when apt-get fails, fail if a reboot is owed anyway', async () => {
    const broken = { [simulate]: { code: 100, stderr: 'E: Could not open lock file' } };
    expect((await runOn(linuxPendingUpdates, { commands: broken })).status).toBe('unknown');
    expect(
      (
        await runOn(linuxPendingUpdates, {
          files: { '/run/reboot-required': '' },
          commands: broken,
        })
      ).status,
    ).toBe('fail');
  });
});

describe('Secure Boot', () => {
  const variable = '/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c';

  it('passes when the SecureBoot variable is 1', async () => {
    const verdict = await runOn(linuxSecureBoot, {
      files: { [variable]: Buffer.from([6, 0, 0, 0, 1]) },
    });
    expect(verdict.status).toBe('pass');
  });

  it('fails when it is 0', async () => {
    const verdict = await runOn(linuxSecureBoot, {
      files: { [variable]: Buffer.from([6, 0, 0, 0, 0]) },
    });
    expect(verdict.status).toBe('fail');
  });

  it('fails on a legacy BIOS boot', async () => {
    const verdict = await runOn(linuxSecureBoot, {
      files: { '/sys/firmware/acpi': { dir: true } },
    });
    expect(verdict.evidence).toBe(
      'booted in legacy BIOS mode (no /sys/firmware/efi): Secure Boot is not possible',
    );
    expect(verdict.status).toBe('fail');
  });

  it('asks mokutil when the variable is unreadable', async () => {
    const efi: Record<string, Entry> = { '/sys/firmware/efi/efivars': { dir: true } };
    const mokutil = (file: string) =>
      runOn(linuxSecureBoot, { files: efi, commands: { 'mokutil --sb-state': fixture(file) } });
    expect(await mokutil('linux/mokutil-sb-state.enabled.txt')).toEqual({
      status: 'pass',
      evidence: '`mokutil --sb-state`: SecureBoot enabled',
    });
    expect((await mokutil('linux/mokutil-sb-state.disabled.txt')).status).toBe('fail');
    const none = await runOn(linuxSecureBoot, { files: efi });
    expect(none.status).toBe('unknown');
    expect(none.evidence).toContain('mokutil is not installed');
  });

  it('is unknown when /sys/firmware is hidden', async () => {
    expect((await runOn(linuxSecureBoot, {})).status).toBe('unknown');
  });
});

describe('SSH root login', () => {
  const sshd: Record<string, Entry> = { '/usr/sbin/sshd': '' };

  it('passes when no SSH server is installed', async () => {
    expect((await runOn(linuxSshRootLogin, {})).status).toBe('pass');
  });

  it('passes and fails on `sshd -T`', async () => {
    const sshdT = (file: string) =>
      runOn(linuxSshRootLogin, { files: sshd, commands: { '/usr/sbin/sshd -T': fixture(file) } });
    expect(await sshdT('linux/sshd-T.permitrootlogin-no.txt')).toEqual({
      status: 'pass',
      evidence: 'PermitRootLogin no (`sshd -T`)',
    });
    const debian = await sshdT('linux/sshd-T.debian-default.txt');
    expect(debian.status).toBe('fail');
    expect(debian.evidence).toBe(
      'PermitRootLogin without-password (`sshd -T`): root may log in over SSH with a key',
    );
  });

  const cannotRun = {
    '/usr/sbin/sshd -T': { code: 1, stderr: 'sshd: no hostkeys available -- exiting.' },
  };

  it.each<{ what: string; config: Record<string, Entry>; status: string; evidence: string }>([
    {
      what: "reads the files when sshd -T cannot run: Debian's default lets root in with a key",
      config: { '/etc/ssh/sshd_config': fixture('linux/sshd_config.debian12') },
      status: 'fail',
      evidence:
        "PermitRootLogin prohibit-password (not set in /etc/ssh/sshd_config, so sshd's default; sshd -T exited with 1: sshd: no hostkeys available -- exiting.)",
    },
    {
      what: 'follows Include: the first value wins, in file name order',
      config: {
        '/etc/ssh/sshd_config': `${fixture('linux/sshd_config.debian12')}\nPermitRootLogin yes\n`,
        '/etc/ssh/sshd_config.d/50-hardening.conf': 'PermitRootLogin no\n',
        '/etc/ssh/sshd_config.d/90-late.conf': 'PermitRootLogin yes\n',
        '/etc/ssh/sshd_config.d/notes.txt': 'PermitRootLogin yes\n',
      },
      status: 'pass',
      evidence: 'PermitRootLogin no (/etc/ssh/sshd_config.d/50-hardening.conf;',
    },
    {
      what: 'fails when a Match block lets root back in',
      config: {
        '/etc/ssh/sshd_config':
          'PermitRootLogin no\nMatch Address 10.0.0.0/8\n    PermitRootLogin yes\n',
      },
      status: 'fail',
      evidence: 'Match Address 10.0.0.0/8 sets PermitRootLogin yes',
    },
  ])('$what', async ({ config, status, evidence }) => {
    const verdict = await runOn(linuxSshRootLogin, {
      files: { ...sshd, ...config },
      commands: cannotRun,
    });
    expect(verdict.status).toBe(status);
    expect(verdict.evidence).toContain(evidence);
  });

  it('is unknown when sshd -T fails and there is no configuration to read', async () => {
    const verdict = await runOn(linuxSshRootLogin, { files: sshd, commands: cannotRun });
    expect(verdict.status).toBe('unknown');
  });
});

describe('screen lock', () => {
  const sessions = (type: string, desktop = 'GNOME') => ({
    'loginctl list-sessions --no-legend':
      '    2 1000 ada seat0 tty2\n    5    0 root       pts/1\n',
    'loginctl show-session 2 -p Type -p Desktop -p Name -p User -p Class': `Type=${type}\nDesktop=${desktop}\nName=ada\nUser=1000\nClass=user\n`,
    'loginctl show-session 5 -p Type -p Desktop -p Name -p User -p Class':
      'Type=tty\nDesktop=\nName=root\nUser=0\nClass=user\n',
  });
  const gsettings = (key: string) =>
    `runuser -u ada -- env DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1000/bus XDG_RUNTIME_DIR=/run/user/1000 gsettings get ${key}`;
  const gnome = (lock: string, idle: string, delay = 'uint32 0') => ({
    ...sessions('wayland'),
    [gsettings('org.gnome.desktop.screensaver lock-enabled')]: `${lock}\n`,
    [gsettings('org.gnome.desktop.session idle-delay')]: `${idle}\n`,
    [gsettings('org.gnome.desktop.screensaver lock-delay')]: `${delay}\n`,
  });

  it("passes with GNOME's defaults in a desktop session", async () => {
    const verdict = await runOn(linuxScreenLock, { commands: gnome('true', 'uint32 300') });
    expect(verdict.status).toBe('pass');
    expect(verdict.evidence).toContain("ada's GNOME session 2: locks after 300 s idle");
  });

  it('fails when the lock is off or the screen never blanks', async () => {
    expect((await runOn(linuxScreenLock, { commands: gnome('false', 'uint32 300') })).status).toBe(
      'fail',
    );
    const never = await runOn(linuxScreenLock, { commands: gnome('true', 'uint32 0') });
    expect(never.status).toBe('fail');
    expect(never.evidence).toContain('the screen never blanks');
    const late = await runOn(linuxScreenLock, { commands: gnome('true', 'uint32 3600') });
    expect(late.status).toBe('fail');
  });

  it('is unknown, not pass, when there is no desktop session', async () => {
    const verdict = await runOn(linuxScreenLock, {
      commands: { ...sessions('tty', ''), ...{} },
    });
    expect(verdict).toEqual({
      status: 'unknown',
      evidence:
        'no desktop session is open (2 login sessions, none graphical): screen lock does not apply',
    });
  });

  it('is unknown when logind cannot be asked', async () => {
    const verdict = await runOn(linuxScreenLock, {
      commands: {
        'loginctl list-sessions --no-legend': {
          code: 1,
          stderr: "System has not been booted with systemd as init system (PID 1). Can't operate.",
        },
      },
    });
    expect(verdict.status).toBe('unknown');
    expect(verdict.evidence).toContain('cannot tell whether a desktop session exists');
  });

  it('is unknown for a desktop whose settings it does not read, and when gsettings fails', async () => {
    const kde = await runOn(linuxScreenLock, { commands: sessions('x11', 'KDE') });
    expect(kde.status).toBe('unknown');
    expect(kde.evidence).toContain('read for GNOME only');
    const unreadable = await runOn(linuxScreenLock, { commands: sessions('wayland') });
    expect(unreadable.status).toBe('unknown');
    expect(unreadable.evidence).toContain('runuser is not installed');
  });

  it('reads gsettings values', () => {
    expect(parseGsettings('uint32 300\n')).toBe(300);
    expect(parseGsettings('true')).toBe(true);
    expect(parseGsettings("'on'")).toBe('on');
    expect(parseGsettings('@as []')).toBeUndefined();
  });
});

describe('Gatehouse healthy', () => {
  const facts = (overrides: Partial<typeof HEALTHY>) => ({
    gatehouse: () => ({ ...HEALTHY, ...overrides }),
  });

  it('passes with the monitor running and no sync server', async () => {
    expect(await runOn(gatehouseHealthy, {}, facts({}))).toEqual({
      status: 'pass',
      evidence: 'mode LOCKDOWN; exec monitor running (fanotify); no sync server configured',
    });
  });

  it('passes with a recent sync', async () => {
    const verdict = await runOn(
      gatehouseHealthy,
      {},
      facts({ syncBaseUrl: 'https://sync.example/santa/', lastSync: NOW - 5 * 60_000 }),
    );
    expect(verdict.status).toBe('pass');
    expect(verdict.evidence).toContain('(5 min ago)');
  });

  it('fails when the monitor is not running, or is the fake one', async () => {
    expect((await runOn(gatehouseHealthy, {}, facts({ monitorRunning: false }))).status).toBe(
      'fail',
    );
    expect((await runOn(gatehouseHealthy, {}, facts({ backend: 'fake' }))).status).toBe('fail');
  });

  it('fails when the last sync is old, saying why the last attempt failed', async () => {
    const verdict = await runOn(
      gatehouseHealthy,
      {},
      facts({
        syncBaseUrl: 'https://sync.example/santa/',
        lastSync: NOW - 5 * 3600_000,
        lastSyncError: 'preflight: cannot reach https://sync.example',
      }),
    );
    expect(verdict.status).toBe('fail');
    expect(verdict.evidence).toContain(
      'last attempt: preflight: cannot reach https://sync.example',
    );
  });

  it('is unknown right after start, before the first sync', async () => {
    const verdict = await runOn(
      gatehouseHealthy,
      {},
      facts({ syncBaseUrl: 'https://sync.example/santa/', startedAt: NOW - 60_000 }),
    );
    expect(verdict.status).toBe('unknown');
    const later = await runOn(
      gatehouseHealthy,
      {},
      facts({ syncBaseUrl: 'https://sync.example/santa/', startedAt: NOW - 3600_000 }),
    );
    expect(later.status).toBe('fail');
  });
});

describe('Exec gate coverage', () => {
  const facts = (over: Partial<GatehouseFacts>) => ({
    gatehouse: () => ({ ...HEALTHY, ...over }),
  });

  it('passes when every route is gated', async () => {
    const verdict = await runOn(execGateCoverage, {}, facts({ gateGaps: '' }));
    expect(verdict.status).toBe('pass');
    expect(verdict.evidence).toContain('the BPF LSM for the dynamic loader given a path');
  });

  it('fails naming the routes left open and why, when the BPF layer is missing', async () => {
    const why = 'the BPF LSM is not active (Operation not permitted; active: lockdown,capability)';
    const verdict = await runOn(execGateCoverage, {}, facts({ gateGaps: why }));
    expect(verdict).toEqual({
      status: 'fail',
      evidence: `not gated: ${UNGATED_ROUTES}. Why: ${why}`,
    });
  });

  it('cannot tell while the monitor is not running', async () => {
    const verdict = await runOn(
      execGateCoverage,
      {},
      facts({ monitorRunning: false, gateGaps: null }),
    );
    expect(verdict.status).toBe('unknown');
  });
});
