// macOS posture checks. They run only on macOS; the parsers are exported so that recorded
// command outputs test them anywhere.
import { fail, pass, unknown, type PostureCheck, type Verdict } from './check';
import { gatehouseHealthy } from './gatehouse';
import { describeFailure, oneLine, type CommandResult, type Host } from './host';

const said = (result: CommandResult) => oneLine(`${result.stdout}\n${result.stderr}`);

// ---------------------------------------------------------------------------------------------
// Parsers

export type FileVaultState = 'on' | 'off' | 'encrypting' | 'decrypting' | 'deferred';

/** `fdesetup status`. */
export function parseFdesetup(output: string): FileVaultState | undefined {
  if (/Encryption in progress/i.test(output)) return 'encrypting';
  if (/Decryption in progress/i.test(output)) return 'decrypting';
  if (/FileVault is On\b/i.test(output)) return 'on';
  // `fdesetup enable -defer` (or an MDM FileVault payload with Defer) leaves the disk unencrypted
  // until the designated user next logs out or in; fdesetup may print only this line until then.
  if (/Deferred enablement appears to be active/i.test(output)) return 'deferred';
  if (/FileVault is Off\b/i.test(output)) return 'off';
  return undefined;
}

export interface SipStatus {
  readonly state: 'enabled' | 'disabled' | 'custom';
  /** The protections a custom configuration turned off. */
  readonly disabled: string[];
}

/** `csrutil status`: enabled, disabled, or a custom configuration (some protections off). */
export function parseCsrutil(output: string): SipStatus | undefined {
  const status = /System Integrity Protection status:\s*([a-z]+)/i.exec(output)?.[1]?.toLowerCase();
  const disabled = [...output.matchAll(/^\s*([A-Za-z][\w -]+?):\s*disabled\b/gm)]
    .map((match) => match[1]!.trim())
    // "Apple Internal" is the flag for Apple's own builds: csrutil lists it as disabled in every
    // custom configuration outside Apple, so it is not a protection that was turned off.
    .filter((name) => name !== 'System Integrity Protection status' && name !== 'Apple Internal');
  if (/Custom Configuration/i.test(output) || (status === 'enabled' && disabled.length > 0))
    return { state: 'custom', disabled };
  if (status === 'enabled') return { state: 'enabled', disabled };
  if (status === 'disabled') return { state: 'disabled', disabled };
  return undefined;
}

/** `spctl --status`. */
export function parseSpctl(output: string): boolean | undefined {
  if (/assessments enabled/i.test(output)) return true;
  if (/assessments disabled/i.test(output)) return false;
  return undefined;
}

/** `socketfilterfw --getglobalstate`: 0 off, 1 on, 2 blocking all incoming connections. */
export function parseFirewallState(output: string): number | undefined {
  const state = /State\s*=\s*(\d)/.exec(output)?.[1];
  if (state !== undefined) return Number(state);
  if (/Firewall is enabled/i.test(output)) return 1;
  if (/Firewall is disabled/i.test(output)) return 0;
  return undefined;
}

/**
 * A preference value as macOS reads a boolean: `true`, `false`, or undefined when it is not one.
 * `-[NSUserDefaults boolForKey:]` (and `CFPreferencesGetAppBooleanValue`) take the strings "YES",
 * "true" and "1" and the numbers 1 and 1.0 as true, so `defaults read` showing `YES` is on.
 */
export function readBoolean(value: string): boolean | undefined {
  const text = value.trim().toLowerCase();
  if (text === 'yes' || text === 'true' || /^1(\.0*)?$/.test(text)) return true;
  if (text === 'no' || text === 'false' || /^0(\.0*)?$/.test(text)) return false;
  return undefined;
}

/** `defaults read DOMAIN`: the top-level scalar values of the dictionary it prints. */
export function parseDefaults(output: string): Map<string, string> {
  const values = new Map<string, string>();
  let depth = 0;
  for (const line of output.split('\n')) {
    const trimmed = line.trim();
    if (depth === 1) {
      const match = /^"?([^"=]+?)"?\s*=\s*(.*?);?$/.exec(trimmed);
      if (match && !/^[({]/.test(match[2]!)) values.set(match[1]!, match[2]!.replace(/^"|"$/g, ''));
    }
    for (const char of trimmed) {
      if (char === '{' || char === '(') depth++;
      else if (char === '}' || char === ')') depth--;
    }
  }
  return values;
}

/** Compares dotted versions numerically: negative when a is older than b. */
export function compareVersions(a: string, b: string): number {
  const left = a.split('.').map(Number);
  const right = b.split('.').map(Number);
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const difference = (left[i] ?? 0) - (right[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

export const VERSION_PATTERN = /^\d+(\.\d+){0,2}$/;

/** `sysadminctl -screenLock status` (it prints to stderr): off, or the delay in seconds. */
export function parseScreenLock(
  output: string,
): { off: true } | { off: false; delayS: number } | undefined {
  if (/screenLock is off/i.test(output)) return { off: true };
  if (/screenLock delay is immediate/i.test(output)) return { off: false, delayS: 0 };
  // Some macOS versions print the delay as a float ("300.000000"), and -1 when the lock is off.
  const delay = /screenLock delay is (-?\d+(?:\.\d+)?) seconds?/i.exec(output)?.[1];
  if (delay === undefined) return undefined;
  const delayS = Number(delay);
  return delayS < 0 ? { off: true } : { off: false, delayS };
}

// ---------------------------------------------------------------------------------------------
// Checks

/**
 * Runs one command and judges what `parse` reads from its output; output it cannot read is
 * unknown, saying how the command failed. The evidence names the command and quotes its output.
 */
async function commandVerdict<T>(
  host: Host,
  [path, ...args]: readonly [string, ...string[]],
  parse: (stdout: string, stderr: string) => T | undefined,
  judge: (reading: T, evidence: string) => Verdict,
): Promise<Verdict> {
  const command = [path.slice(path.lastIndexOf('/') + 1), ...args].join(' ');
  const result = await host.run(path, args);
  const reading = parse(result.stdout, result.stderr);
  if (reading === undefined) return unknown(describeFailure(command, result));
  return judge(reading, `\`${command}\`: ${said(result)}`);
}

const onOff = (on: boolean, evidence: string) => (on ? pass(evidence) : fail(evidence));

const FILEVAULT_VERDICTS: Record<FileVaultState, (evidence: string) => Verdict> = {
  on: pass,
  off: fail,
  decrypting: fail,
  encrypting: (evidence) => fail(`${evidence} (not finished yet)`),
  deferred: (evidence) =>
    fail(`${evidence} (not on yet: enablement is deferred until the user next logs out or in)`),
};

export const macFileVault: PostureCheck = {
  id: 'macos.filevault',
  title: 'Disk encryption (FileVault)',
  remediation: 'System Settings → Privacy & Security → FileVault: Turn On.',
  async run({ host }) {
    return commandVerdict(host, ['/usr/bin/fdesetup', 'status'], parseFdesetup, (state, evidence) =>
      FILEVAULT_VERDICTS[state](evidence),
    );
  },
};

function sipVerdict({ state, disabled }: SipStatus, evidence: string): Verdict {
  if (state !== 'custom') return onOff(state === 'enabled', evidence);
  const which = disabled.length ? `, disabled: ${disabled.join(', ')}` : '';
  return fail(`custom configuration${which} (${evidence})`);
}

export const macSip: PostureCheck = {
  id: 'macos.sip',
  title: 'System Integrity Protection',
  remediation: 'Start up in macOS Recovery, open Terminal and run: csrutil enable; then restart.',
  async run({ host }) {
    return commandVerdict(host, ['/usr/bin/csrutil', 'status'], parseCsrutil, sipVerdict);
  },
};

export const macGatekeeper: PostureCheck = {
  id: 'macos.gatekeeper',
  title: 'Gatekeeper',
  remediation:
    'Run: sudo spctl --master-enable (or allow apps from the App Store and identified developers).',
  async run({ host }) {
    return commandVerdict(
      host,
      ['/usr/sbin/spctl', '--status'],
      (stdout, stderr) => parseSpctl(`${stdout}\n${stderr}`),
      onOff,
    );
  },
};

export const macFirewall: PostureCheck = {
  id: 'macos.firewall',
  title: 'Firewall',
  remediation: 'System Settings → Network → Firewall: turn it on.',
  async run({ host }) {
    return commandVerdict(
      host,
      ['/usr/libexec/ApplicationFirewall/socketfilterfw', '--getglobalstate'],
      parseFirewallState,
      // 1 is on, and 2 is on and blocking every incoming connection.
      (state, evidence) => onOff(state >= 1, evidence),
    );
  },
};

/**
 * The keys the check needs on, each with what macOS does when no one has set it. Apple documents
 * every one as `default: true` in the Software Update payload (com.apple.SoftwareUpdate) of its
 * device-management reference (github.com/apple/device-management,
 * mdm/profiles/com.apple.SoftwareUpdate.yaml), and System Settings shows them on for a Mac that
 * never wrote them (drata/drata-agent#27): an unset key is on, not unknown.
 */
const UPDATE_KEYS = {
  AutomaticCheckEnabled: true,
  AutomaticDownload: true,
  CriticalUpdateInstall: true,
  ConfigDataInstall: true,
} as const satisfies Record<string, boolean>;
const MANAGED_UPDATES = '/Library/Managed Preferences/com.apple.SoftwareUpdate';
const USER_UPDATES = '/Library/Preferences/com.apple.SoftwareUpdate';

/** Automatic updates from the managed (MDM) and local SoftwareUpdate preferences. */
export function evaluateSoftwareUpdate(
  managed: Map<string, string>,
  local: Map<string, string>,
): Verdict {
  const parts: string[] = [];
  const off: string[] = [];
  const unreadable: string[] = [];
  for (const [key, macOSDefault] of Object.entries(UPDATE_KEYS)) {
    const value = managed.get(key) ?? local.get(key);
    if (value === undefined) {
      parts.push(`${key} = ${macOSDefault ? 'on' : 'off'} (not set: macOS default)`);
      if (!macOSDefault) off.push(key);
      continue;
    }
    parts.push(`${key} = ${value}${managed.has(key) ? ' (managed)' : ''}`);
    const on = readBoolean(value);
    if (on === false) off.push(key);
    else if (on === undefined) unreadable.push(key);
  }
  const evidence = parts.join(', ');
  if (off.length > 0) return fail(`turned off: ${off.join(', ')} (${evidence})`);
  if (unreadable.length > 0)
    return unknown(`not a value macOS reads as on or off: ${unreadable.join(', ')} (${evidence})`);
  return pass(evidence);
}

export const macAutomaticUpdates: PostureCheck = {
  id: 'macos.automatic-updates',
  title: 'Automatic updates',
  remediation:
    'System Settings → General → Software Update → Automatic Updates: turn on every option.',
  async run({ host }) {
    const read = async (domain: string) => {
      const result = await host.run('/usr/bin/defaults', ['read', domain]);
      if (result.code === 0) return parseDefaults(result.stdout);
      // An absent domain is a Mac where no one set these keys (macOS defaults apply); any other
      // failure leaves the keys unknown, and taking the defaults then could pass a Mac wrongly.
      if (!result.failure && /does not exist/i.test(result.stderr))
        return new Map<string, string>();
      return describeFailure(`defaults read ${domain}`, result);
    };
    const managed = await read(MANAGED_UPDATES);
    const local = await read(USER_UPDATES);
    if (typeof managed === 'string') return unknown(managed);
    if (typeof local === 'string') return unknown(local);
    return evaluateSoftwareUpdate(managed, local);
  },
};

export const macOsVersion: PostureCheck = {
  id: 'macos.os-version',
  title: 'macOS up to date',
  remediation: 'System Settings → General → Software Update: install the latest macOS.',
  async run({ host, settings }) {
    const result = await host.run('/usr/bin/sw_vers', ['-productVersion']);
    const version = result.stdout.trim();
    if (result.code !== 0 || !VERSION_PATTERN.test(version))
      return unknown(describeFailure('sw_vers -productVersion', result));
    const floor = settings.minimumMacOSVersion;
    return compareVersions(version, floor) >= 0
      ? pass(`macOS ${version}; the minimum is ${floor}`)
      : fail(`macOS ${version} is older than the minimum ${floor}`);
  },
};

const MAX_SCREEN_LOCK_DELAY_S = 300;

export const macScreenLock: PostureCheck = {
  id: 'macos.screen-lock',
  title: 'Screen lock',
  remediation:
    'System Settings → Lock Screen: require a password immediately (or within 5 minutes) after the screen saver starts.',
  async run({ host }) {
    const consoleUser = await host.run('/usr/bin/stat', ['-f', '%u %Su', '/dev/console']);
    const [uid, user] = consoleUser.stdout.trim().split(' ');
    if (consoleUser.code !== 0 || !uid || !user)
      return unknown(describeFailure('stat /dev/console', consoleUser));
    if (user === 'root' || uid === '0')
      return unknown('no one is logged in at the console: screen lock does not apply');
    if (!/^\d+$/.test(uid) || !/^[\w.-]+$/.test(user))
      return unknown(`the console user "${user}" (${uid}) is not one this check can ask`);
    const result = await host.run('/bin/launchctl', [
      'asuser',
      uid,
      '/usr/bin/sudo',
      '-u',
      user,
      '/usr/sbin/sysadminctl',
      '-screenLock',
      'status',
    ]);
    const parsed = parseScreenLock(`${result.stderr}\n${result.stdout}`);
    if (!parsed) return unknown(describeFailure('sysadminctl -screenLock status', result));
    if (parsed.off) return fail(`${user}: the screen lock is off (sysadminctl)`);
    const delay = parsed.delayS === 0 ? 'immediately' : `${parsed.delayS} s`;
    return parsed.delayS <= MAX_SCREEN_LOCK_DELAY_S
      ? pass(`${user}: a password is required ${delay} after the screen saver starts`)
      : fail(
          `${user}: a password is required only ${delay} after the screen saver starts, more than ${MAX_SCREEN_LOCK_DELAY_S} s`,
        );
  },
};

const XPROTECT_BUNDLES = [
  '/Library/Apple/System/Library/CoreServices/XProtect.bundle/Contents/Info',
  // macOS 15 keeps the active bundle here; it may be newer than the one above.
  '/var/protected/xprotect/XProtect.bundle/Contents/Info',
];

export const macXProtect: PostureCheck = {
  id: 'macos.xprotect',
  title: 'XProtect up to date',
  remediation:
    'System Settings → General → Software Update → Automatic Updates: turn on "Install Security Responses and system files".',
  async run({ host, settings }) {
    const found: { path: string; version: number }[] = [];
    const problems: string[] = [];
    for (const path of XPROTECT_BUNDLES) {
      const result = await host.run('/usr/bin/defaults', [
        'read',
        path,
        'CFBundleShortVersionString',
      ]);
      const version = result.stdout.trim();
      if (result.code === 0 && /^\d+$/.test(version))
        found.push({ path, version: Number(version) });
      else problems.push(describeFailure(`defaults read ${path}`, result));
    }
    if (found.length === 0) return unknown(`no XProtect version found: ${problems.join('; ')}`);
    const newest = found.reduce((a, b) => (b.version > a.version ? b : a));
    const floor = settings.minimumXProtectVersion;
    const evidence = `XProtect ${newest.version} (${newest.path}.plist); the minimum is ${floor}`;
    return newest.version >= floor ? pass(evidence) : fail(evidence);
  },
};

export const MACOS_CHECKS: readonly PostureCheck[] = [
  macFileVault,
  macSip,
  macGatekeeper,
  macFirewall,
  macAutomaticUpdates,
  macOsVersion,
  macScreenLock,
  macXProtect,
  gatehouseHealthy,
];
