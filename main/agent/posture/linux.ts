// Linux posture checks (Debian and Ubuntu first). Each reads the most authoritative source the
// service (root) can reach and falls back to weaker ones, saying which it used.
import { posix } from 'node:path';
import { fail, pass, unknown, type PostureCheck, type Verdict } from './check';
import { execGateCoverage, gatehouseHealthy } from './gatehouse';
import { describeFailure, findCommand, oneLine, type Host } from './host';
import { effectiveSetting, readSshdConfig } from './sshd';

// ---------------------------------------------------------------------------------------------
// Root filesystem encryption: from the device under / (mountinfo) up through its parents in
// sysfs, looking for a device-mapper device whose uuid says dm-crypt ("CRYPT-LUKS2-…").

interface RootMount {
  readonly majorMinor: string;
  readonly fstype: string;
  readonly source: string;
}

/** The filesystem mounted on / (the last one, when something is mounted over it). */
export function parseRootMount(mountinfo: string): RootMount | undefined {
  let found: RootMount | undefined;
  for (const line of mountinfo.split('\n')) {
    const [before, after] = line.split(' - ');
    if (!before || !after) continue;
    const fields = before.split(' ');
    if (fields[4] !== '/') continue;
    const [fstype, source] = after.split(' ');
    if (fields[2] && fstype) found = { majorMinor: fields[2], fstype, source: source ?? '' };
  }
  return found;
}

async function readText(host: Host, path: string): Promise<string | undefined> {
  try {
    return (await host.readFile(path)).toString('utf8').trim();
  } catch {
    return undefined;
  }
}

async function blockDeviceDir(host: Host, root: RootMount): Promise<string | undefined> {
  if (!root.majorMinor.startsWith('0:')) {
    const dir = `/sys/dev/block/${root.majorMinor}`;
    if (await host.exists(dir)) return host.realpath(dir);
  }
  // btrfs and others report an anonymous device number; the mount source names the device.
  if (root.source.startsWith('/dev/')) {
    try {
      const device = posix.basename(await host.realpath(root.source));
      const dir = `/sys/class/block/${device}`;
      if (await host.exists(dir)) return host.realpath(dir);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The filesystem on / as this process sees it, or why that cannot be read. */
async function readRootMount(host: Host): Promise<RootMount | string> {
  const mountinfo = await readText(host, '/proc/self/mountinfo');
  if (mountinfo === undefined) return 'cannot read /proc/self/mountinfo';
  return parseRootMount(mountinfo) ?? '/proc/self/mountinfo lists no filesystem on /';
}

/**
 * From the block device folder `start` up through the disk of a partition and the devices a
 * device-mapper device sits on: passes at the first dm-crypt device, fails when there is none.
 */
async function dmCryptBeneath(host: Host, start: string, what: string): Promise<Verdict> {
  const walked: string[] = [];
  const queue = [start];
  const seen = new Set<string>();
  while (queue.length > 0 && seen.size < 64) {
    const dir = queue.shift()!;
    if (seen.has(dir)) continue;
    seen.add(dir);
    const name = posix.basename(dir);
    walked.push(name);
    const uuid = await readText(host, `${dir}/dm/uuid`);
    if (uuid?.startsWith('CRYPT-')) {
      const mapped = (await readText(host, `${dir}/dm/name`)) ?? name;
      const kind = uuid.split('-')[1] ?? 'dm-crypt';
      return pass(`${what}; it sits on ${kind} device ${mapped} (${name}, dm uuid ${uuid})`);
    }
    if (await host.exists(`${dir}/partition`)) queue.push(posix.dirname(dir));
    const slaves = await host.readDir(`${dir}/slaves`).catch(() => [] as string[]);
    for (const slave of slaves) {
      try {
        queue.push(await host.realpath(`/sys/class/block/${slave}`));
      } catch {
        // a parent that vanished meanwhile
      }
    }
  }
  return fail(`${what}; no dm-crypt (LUKS) device beneath it (read ${walked.join(' → ')})`);
}

export const linuxDiskEncryption: PostureCheck = {
  id: 'linux.disk-encryption',
  title: 'Disk encryption',
  remediation:
    'Reinstall with "Encrypt the new Debian/Ubuntu installation" (LUKS), or ask IT to encrypt this disk.',
  async run({ host }) {
    const root = await readRootMount(host);
    if (typeof root === 'string') return unknown(root);
    const what = `/ is ${root.fstype} on ${root.source || root.majorMinor}`;
    const start = await blockDeviceDir(host, root);
    if (!start)
      return unknown(
        `${what}, which is not a block device (a container or a network filesystem?): cannot tell whether the disk is encrypted`,
      );
    return dmCryptBeneath(host, start, what);
  },
};

// ---------------------------------------------------------------------------------------------
// Firewall: ufw, firewalld or an nftables ruleset that filters incoming traffic.

type Probe = { active: true; evidence: string } | { active: false | undefined; evidence: string };

/** Whether an nftables ruleset filters input: a base chain on the input hook that drops. */
export function nftFiltersInput(ruleset: string): { filters: boolean; summary: string } {
  const chains: { name: string; body: string }[] = [];
  const opener = /chain\s+(\S+)\s*\{/g;
  for (const match of ruleset.matchAll(opener)) {
    let depth = 1;
    let index = match.index + match[0].length;
    const start = index;
    while (index < ruleset.length && depth > 0) {
      if (ruleset[index] === '{') depth++;
      else if (ruleset[index] === '}') depth--;
      index++;
    }
    chains.push({ name: match[1]!, body: ruleset.slice(start, index - 1) });
  }
  const input = chains.filter((chain) => /\bhook\s+input\b/.test(chain.body));
  // A chain filters when what is not accepted is dropped: its policy is drop, or its last rule
  // drops or rejects unconditionally. A drop somewhere in an accepting chain (invalid packets,
  // one port) leaves everything else open.
  const filtering = input.filter((chain) => {
    if (/\bpolicy\s+drop\b/.test(chain.body)) return true;
    const rules = chain.body
      .split(/[\n;]/)
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#') && !/^type\s/.test(line));
    const last = rules.at(-1) ?? '';
    return /^(counter(\s+packets\s+\d+\s+bytes\s+\d+)?\s+)?(drop|reject(\s+with\s+.+)?)$/.test(
      last,
    );
  });
  const summary =
    chains.length === 0
      ? 'the nftables ruleset is empty'
      : input.length === 0
        ? `${chains.length} nftables chains, none on the input hook`
        : filtering.length === 0
          ? `input chain ${input.map((chain) => chain.name).join(', ')} accepts everything`
          : `input chain ${filtering.map((chain) => chain.name).join(', ')} drops or rejects traffic`;
  return { filters: filtering.length > 0, summary };
}

async function probeUfw(host: Host): Promise<Probe | undefined> {
  if (!(await findCommand(host, 'ufw'))) return undefined;
  const status = await host.run('ufw', ['status']);
  if (status.code === 0) {
    const line = status.stdout
      .split('\n')
      .find((l) => l.startsWith('Status:'))
      ?.trim();
    if (line === 'Status: active')
      return { active: true, evidence: '`ufw status`: Status: active' };
    if (line === 'Status: inactive')
      return { active: false, evidence: '`ufw status`: Status: inactive' };
  }
  // ufw status needs root; its configuration says whether it is enabled at boot.
  const conf = await readText(host, '/etc/ufw/ufw.conf');
  const enabled = conf?.match(/^\s*ENABLED\s*=\s*(\S+)/m)?.[1]?.replace(/["']/g, '');
  if (enabled === 'yes')
    return {
      active: true,
      evidence: `ENABLED=yes in /etc/ufw/ufw.conf (${describeFailure('ufw status', status)})`,
    };
  if (enabled === 'no') return { active: false, evidence: 'ENABLED=no in /etc/ufw/ufw.conf' };
  return { active: undefined, evidence: describeFailure('ufw status', status) };
}

async function probeFirewalld(host: Host): Promise<Probe | undefined> {
  if (!(await findCommand(host, 'firewall-cmd'))) return undefined;
  const state = await host.run('firewall-cmd', ['--state']);
  const said = oneLine(state.stdout || state.stderr);
  if (state.code === 0 && said === 'running')
    return { active: true, evidence: '`firewall-cmd --state`: running' };
  if (said === 'not running')
    return { active: false, evidence: '`firewall-cmd --state`: not running' };
  return { active: undefined, evidence: describeFailure('firewall-cmd --state', state) };
}

async function probeNft(host: Host): Promise<Probe | undefined> {
  if (!(await findCommand(host, 'nft'))) return undefined;
  const list = await host.run('nft', ['list', 'ruleset']);
  if (list.code !== 0)
    return { active: undefined, evidence: describeFailure('nft list ruleset', list) };
  const { filters, summary } = nftFiltersInput(list.stdout);
  return { active: filters, evidence: `\`nft list ruleset\`: ${summary}` };
}

export const linuxFirewall: PostureCheck = {
  id: 'linux.firewall',
  title: 'Firewall',
  remediation:
    'Turn the firewall on: sudo ufw enable (or start firewalld / load an nftables ruleset).',
  async run({ host }) {
    const probes = [
      ['ufw', await probeUfw(host)],
      ['firewalld', await probeFirewalld(host)],
      ['nftables', await probeNft(host)],
    ] as const;
    const installed = probes.filter(([, probe]) => probe !== undefined) as [string, Probe][];
    if (installed.length === 0)
      return fail('none of ufw, firewalld or nftables (nft) is installed');
    const active = installed.find(([, probe]) => probe.active === true);
    const evidence = installed.map(([name, probe]) => `${name}: ${probe.evidence}`).join('; ');
    if (active) return pass(evidence);
    if (installed.some(([, probe]) => probe.active === undefined)) return unknown(evidence);
    return fail(evidence);
  },
};

// ---------------------------------------------------------------------------------------------
// Automatic security updates: unattended-upgrades installed and switched on by APT::Periodic.

/** `apt-config dump` as key → values (list entries under `Key::` gather in order). */
export function parseAptConfig(dump: string): Map<string, string[]> {
  const values = new Map<string, string[]>();
  for (const line of dump.split('\n')) {
    const match = /^(\S+?)(::)?\s+"(.*)";\s*$/.exec(line.trim());
    if (!match) continue;
    const key = match[1]!;
    values.set(key, [...(values.get(key) ?? []), match[3]!]);
  }
  return values;
}

/** An APT::Periodic value turns the job on: a day count above 0 or "always". */
function periodicOn(value: string | undefined): boolean {
  if (value === undefined) return false;
  if (value === 'always') return true;
  const days = Number.parseFloat(value);
  return Number.isFinite(days) && days > 0;
}

export const linuxAutomaticUpdates: PostureCheck = {
  id: 'linux.automatic-updates',
  title: 'Automatic security updates',
  remediation:
    'Turn on automatic security updates: sudo apt install unattended-upgrades && sudo dpkg-reconfigure -plow unattended-upgrades',
  async run({ host }) {
    const dump = await host.run('apt-config', ['dump']);
    if (dump.failure === 'not-found')
      return unknown('apt-config is not installed: only apt-based systems are checked');
    if (dump.code !== 0) return unknown(describeFailure('apt-config dump', dump));
    const config = parseAptConfig(dump.stdout);
    const lists = config.get('APT::Periodic::Update-Package-Lists')?.at(-1);
    const upgrade = config.get('APT::Periodic::Unattended-Upgrade')?.at(-1);
    const installed = await findCommand(host, 'unattended-upgrade');
    const shown = (value: string | undefined) => (value === undefined ? 'not set' : `"${value}"`);
    const settings = `APT::Periodic::Update-Package-Lists ${shown(lists)}, APT::Periodic::Unattended-Upgrade ${shown(upgrade)}`;
    if (!installed) return fail(`unattended-upgrades is not installed; ${settings}`);
    if (!periodicOn(lists) || !periodicOn(upgrade))
      return fail(`unattended-upgrades is installed but not switched on: ${settings}`);
    const origins = [
      ...(config.get('Unattended-Upgrade::Origins-Pattern') ?? []),
      ...(config.get('Unattended-Upgrade::Allowed-Origins') ?? []),
    ].filter((origin) => origin !== '');
    if (origins.length > 0 && !origins.some((origin) => /security/i.test(origin)))
      return fail(
        `unattended-upgrades is on but none of its origins is a security archive (${origins.join('; ')})`,
      );
    return pass(
      `unattended-upgrades is installed (${installed}); ${settings}${
        origins.length > 0
          ? `; security origin: ${origins.find((origin) => /security/i.test(origin))}`
          : ''
      }`,
    );
  },
};

// ---------------------------------------------------------------------------------------------
// Pending security updates and a reboot owed for installed ones.

const STALE_LISTS_MS = 7 * 24 * 3600_000;

/** `apt-get -s dist-upgrade`: the packages it would install, and which come from security. */
export function parseAptSimulation(output: string): { total: number; security: string[] } {
  const inst = output.split('\n').filter((line) => line.startsWith('Inst '));
  return {
    total: inst.length,
    security: inst
      .filter((line) => /security/i.test(line.slice(line.indexOf('('))))
      .map((line) => line.split(' ')[1]!),
  };
}

async function newestListUpdate(host: Host): Promise<number | undefined> {
  let entries: string[];
  try {
    entries = await host.readDir('/var/lib/apt/lists');
  } catch {
    return undefined;
  }
  let newest: number | undefined;
  for (const entry of entries.filter((name) => /_(In)?Release$/.test(name))) {
    const mtime = await host.mtime(`/var/lib/apt/lists/${entry}`);
    if (mtime !== undefined && (newest === undefined || mtime > newest)) newest = mtime;
  }
  return newest;
}

export const linuxPendingUpdates: PostureCheck = {
  id: 'linux.pending-updates',
  title: 'Security updates installed',
  remediation: 'Install updates and restart: sudo apt update && sudo apt upgrade, then reboot.',
  async run({ host, now }) {
    const reboot = await host.exists('/run/reboot-required');
    let rebootWhy = '';
    if (reboot) {
      const pkgs = await readText(host, '/run/reboot-required.pkgs');
      rebootWhy = pkgs ? ` (for ${pkgs.split('\n').slice(0, 5).join(', ')})` : '';
    }
    const rebootText = reboot
      ? `a reboot is required${rebootWhy} (/run/reboot-required)`
      : 'no reboot required';
    const simulation = await host.run('apt-get', [
      '-s',
      '-o',
      'Debug::NoLocking=1',
      'dist-upgrade',
    ]);
    if (simulation.code !== 0) {
      const why =
        simulation.failure === 'not-found'
          ? 'apt-get is not installed: only apt-based systems are checked'
          : describeFailure('apt-get -s dist-upgrade', simulation);
      return reboot ? fail(`${rebootText}; ${why}`) : unknown(why);
    }
    const { total, security } = parseAptSimulation(simulation.stdout);
    const updated = await newestListUpdate(host);
    const age =
      updated === undefined
        ? 'the package lists have never been downloaded'
        : `package lists updated ${new Date(updated).toISOString()}`;
    const pending =
      security.length > 0
        ? `${security.length} security update${security.length === 1 ? '' : 's'} pending (${security.slice(0, 5).join(', ')}${security.length > 5 ? ', …' : ''}) of ${total} upgradable`
        : `no security updates pending (${total} other upgradable)`;
    const evidence = `${pending}; ${age}; ${rebootText}`;
    if (security.length > 0 || reboot) return fail(evidence);
    if (updated === undefined || now() - updated > STALE_LISTS_MS)
      return unknown(`${evidence}: the lists are too old to say what is pending`);
    return pass(evidence);
  },
};

// ---------------------------------------------------------------------------------------------
// Secure Boot: the SecureBoot EFI variable (its fifth byte), or mokutil when it is unreadable.

const SECURE_BOOT_VARIABLE =
  '/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c';

export function parseMokutil(output: string): boolean | undefined {
  if (/SecureBoot enabled/i.test(output)) return true;
  if (/SecureBoot disabled/i.test(output)) return false;
  return undefined;
}

export const linuxSecureBoot: PostureCheck = {
  id: 'linux.secure-boot',
  title: 'Secure Boot',
  remediation: 'Turn on Secure Boot in the firmware (UEFI) settings; ask IT if unsure.',
  async run({ host }) {
    if (!(await host.exists('/sys/firmware')))
      return unknown('/sys/firmware is not visible (a container?): cannot tell how it booted');
    if (!(await host.exists('/sys/firmware/efi')))
      return fail('booted in legacy BIOS mode (no /sys/firmware/efi): Secure Boot is not possible');
    try {
      const variable = await host.readFile(SECURE_BOOT_VARIABLE);
      // Four bytes of attributes, then the value.
      if (variable.length >= 5) {
        return variable[4] === 1
          ? pass(`EFI variable SecureBoot is 1 (${SECURE_BOOT_VARIABLE})`)
          : fail(`EFI variable SecureBoot is ${variable[4]} (${SECURE_BOOT_VARIABLE})`);
      }
    } catch {
      // unreadable: mokutil next
    }
    const mok = await host.run('mokutil', ['--sb-state']);
    const said = oneLine(`${mok.stdout} ${mok.stderr}`);
    const enabled = parseMokutil(said);
    if (enabled === true) return pass(`\`mokutil --sb-state\`: ${said}`);
    if (enabled === false) return fail(`\`mokutil --sb-state\`: ${said}`);
    return unknown(
      `booted with UEFI, but ${SECURE_BOOT_VARIABLE} is unreadable and ${describeFailure('mokutil --sb-state', mok)}`,
    );
  },
};

// ---------------------------------------------------------------------------------------------
// SSH root login: sshd's effective configuration, or its files when `sshd -T` cannot run.

function rootLoginVerdict(value: string, source: string): Verdict {
  return value === 'no'
    ? pass(`PermitRootLogin no (${source})`)
    : fail(
        `PermitRootLogin ${value} (${source}): root may log in over SSH${
          value === 'prohibit-password' || value === 'without-password' ? ' with a key' : ''
        }`,
      );
}

export const linuxSshRootLogin: PostureCheck = {
  id: 'linux.ssh-root-login',
  title: 'SSH root login off',
  remediation:
    'Set "PermitRootLogin no" in /etc/ssh/sshd_config (or a file in sshd_config.d) and reload ssh.',
  async run({ host }) {
    const sshd = await findCommand(host, 'sshd');
    if (!sshd)
      return pass('no SSH server is installed (sshd not found): nobody can log in over SSH');
    const effective = await host.run(sshd, ['-T']);
    const value =
      effective.code === 0 ? effectiveSetting(effective.stdout, 'permitrootlogin') : undefined;
    if (value) return rootLoginVerdict(value, '`sshd -T`');
    const why = describeFailure('sshd -T', effective);
    if (!(await host.exists('/etc/ssh/sshd_config')))
      return unknown(`${why}, and /etc/ssh/sshd_config does not exist`);
    let reading;
    try {
      reading = await readSshdConfig(host);
    } catch (error) {
      return unknown(`${why}, and the configuration cannot be read: ${(error as Error).message}`);
    }
    const global = reading.permitRootLogin;
    const source = global
      ? `${global.file}; ${why}`
      : `not set in ${reading.filesRead.join(', ')}, so sshd's default; ${why}`;
    const verdict = rootLoginVerdict(global?.value ?? 'prohibit-password', source);
    const exceptions = reading.matchOverrides.filter((override) => override.value !== 'no');
    if (verdict.status === 'pass' && exceptions.length > 0)
      return fail(
        `${verdict.evidence}, but Match ${exceptions[0]!.match} sets PermitRootLogin ${exceptions[0]!.value} (${exceptions[0]!.file})`,
      );
    return verdict;
  },
};

// ---------------------------------------------------------------------------------------------
// Screen lock, for each graphical login session (logind): GNOME's settings, read as that user.

interface GraphicalSession {
  readonly id: string;
  readonly uid: number;
  readonly user: string;
  readonly type: string;
  readonly desktop: string;
}

/** `loginctl show-session` properties. */
export function parseProperties(output: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of output.split('\n')) {
    const equals = line.indexOf('=');
    if (equals > 0) map.set(line.slice(0, equals).trim(), line.slice(equals + 1).trim());
  }
  return map;
}

/** A gsettings value: `true`, `uint32 300`, `'text'`. */
export function parseGsettings(output: string): string | number | boolean | undefined {
  const value = output.trim();
  if (value === 'true') return true;
  if (value === 'false') return false;
  const number = /^(?:u?int(?:32|64)\s+)?(\d+)$/.exec(value);
  if (number) return Number(number[1]);
  const quoted = /^'(.*)'$/.exec(value);
  return quoted ? quoted[1] : undefined;
}

const MAX_IDLE_S = 900;
const MAX_LOCK_DELAY_S = 300;

async function gnomeLock(host: Host, session: GraphicalSession): Promise<Verdict> {
  const read = async (schema: string, key: string) => {
    const result = await host.run('runuser', [
      '-u',
      session.user,
      '--',
      'env',
      `DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/${session.uid}/bus`,
      `XDG_RUNTIME_DIR=/run/user/${session.uid}`,
      'gsettings',
      'get',
      schema,
      key,
    ]);
    return result.code === 0
      ? { value: parseGsettings(result.stdout), raw: oneLine(result.stdout) }
      : { value: undefined, raw: describeFailure(`gsettings get ${schema} ${key}`, result) };
  };
  const lock = await read('org.gnome.desktop.screensaver', 'lock-enabled');
  const idle = await read('org.gnome.desktop.session', 'idle-delay');
  const delay = await read('org.gnome.desktop.screensaver', 'lock-delay');
  const who = `${session.user}'s ${session.desktop || 'GNOME'} session ${session.id}`;
  const settings = `lock-enabled ${lock.raw}, idle-delay ${idle.raw}, lock-delay ${delay.raw}`;
  if (
    typeof lock.value !== 'boolean' ||
    typeof idle.value !== 'number' ||
    typeof delay.value !== 'number'
  )
    return unknown(`${who}: cannot read its settings (${settings})`);
  if (!lock.value) return fail(`${who}: the screen does not lock (${settings})`);
  if (idle.value === 0) return fail(`${who}: the screen never blanks (${settings})`);
  if (idle.value > MAX_IDLE_S)
    return fail(
      `${who}: the screen blanks only after ${idle.value} s, more than ${MAX_IDLE_S} s (${settings})`,
    );
  if (delay.value > MAX_LOCK_DELAY_S)
    return fail(
      `${who}: it locks ${delay.value} s after blanking, more than ${MAX_LOCK_DELAY_S} s (${settings})`,
    );
  return pass(`${who}: locks after ${idle.value + delay.value} s idle (${settings})`);
}

export const linuxScreenLock: PostureCheck = {
  id: 'linux.screen-lock',
  title: 'Screen lock',
  remediation:
    'Settings → Privacy → Screen Lock: turn on Automatic Screen Lock, with a blank screen delay of 15 minutes or less.',
  async run({ host }) {
    const list = await host.run('loginctl', ['list-sessions', '--no-legend']);
    if (list.code !== 0)
      return unknown(
        `cannot list login sessions (${describeFailure('loginctl list-sessions', list)}): cannot tell whether a desktop session exists`,
      );
    const sessions: GraphicalSession[] = [];
    const ids = list.stdout
      .split('\n')
      .map((line) => line.trim().split(/\s+/)[0])
      .filter((id): id is string => !!id && /^[\w-]+$/.test(id));
    for (const id of ids) {
      const show = await host.run('loginctl', [
        'show-session',
        id,
        '-p',
        'Type',
        '-p',
        'Desktop',
        '-p',
        'Name',
        '-p',
        'User',
        '-p',
        'Class',
      ]);
      if (show.code !== 0) continue; // the session ended meanwhile
      const p = parseProperties(show.stdout);
      const type = p.get('Type') ?? '';
      if ((type === 'x11' || type === 'wayland' || type === 'mir') && p.get('Class') !== 'greeter')
        sessions.push({
          id,
          uid: Number(p.get('User') ?? -1),
          user: p.get('Name') ?? '',
          type,
          desktop: p.get('Desktop') ?? '',
        });
    }
    if (sessions.length === 0)
      return unknown(
        `no desktop session is open (${ids.length} login session${ids.length === 1 ? '' : 's'}, none graphical): screen lock does not apply`,
      );
    const verdicts: Verdict[] = [];
    for (const session of sessions) {
      if (!/^[a-z_][\w.-]*\$?$/i.test(session.user) || !Number.isInteger(session.uid)) {
        verdicts.push(unknown(`session ${session.id}: logind reports no usable user`));
      } else if (/gnome|ubuntu|unity|pop|budgie/i.test(session.desktop)) {
        verdicts.push(await gnomeLock(host, session));
      } else {
        verdicts.push(
          unknown(
            `${session.user}'s ${session.desktop || 'unnamed'} desktop (session ${session.id}): screen lock settings are read for GNOME only`,
          ),
        );
      }
    }
    const evidence = verdicts.map((verdict) => verdict.evidence).join('; ');
    if (verdicts.some((verdict) => verdict.status === 'fail')) return fail(evidence);
    if (verdicts.some((verdict) => verdict.status === 'unknown')) return unknown(evidence);
    return pass(evidence);
  },
};

export const LINUX_CHECKS: readonly PostureCheck[] = [
  linuxDiskEncryption,
  linuxFirewall,
  linuxAutomaticUpdates,
  linuxPendingUpdates,
  linuxSecureBoot,
  linuxSshRootLogin,
  linuxScreenLock,
  gatehouseHealthy,
  execGateCoverage,
];
