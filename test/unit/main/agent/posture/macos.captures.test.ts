// The macOS checks against outputs people captured on real Macs and published (issues, READMEs,
// other tools' test data), not outputs written from each command's documentation. Each fixture in
// fixtures/posture/macos-captures is one output as printed; index.json names where it was
// published and the verdict a Mac admin gives it.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PostureCheck, PostureSettings } from '../../../../../main/agent/posture/check';
import * as macos from '../../../../../main/agent/posture/macos';
import { fixture, fixturesDir, runOn, type Scripted } from '../../../../helpers/posture';

interface Capture {
  readonly file: string;
  readonly source: string;
  readonly where: string;
  readonly kind: string;
  readonly check: string;
  readonly expect: 'pass' | 'fail' | 'unknown';
  /** The stream the command prints it on, when not stdout. */
  readonly stream?: 'stderr';
  /** The configured minimum (macOS or XProtect version) the verdict is given against. */
  readonly floor?: string;
  /** Automatic updates: the keys that are off. */
  readonly off?: readonly string[];
  /** SIP: the protections a custom configuration turns off. */
  readonly disabled?: readonly string[];
  readonly note?: string;
}

const FOLDER = 'macos-captures';
const { captures } = JSON.parse(fixture(`${FOLDER}/index.json`)) as { captures: Capture[] };

const SETTINGS: PostureSettings = { minimumMacOSVersion: '14.0', minimumXProtectVersion: 2162 };
const CONSOLE = '/usr/bin/stat -f %u %Su /dev/console';
const SCREEN_LOCK =
  '/bin/launchctl asuser 501 /usr/bin/sudo -u ada /usr/sbin/sysadminctl -screenLock status';
const LOCAL_UPDATES = '/usr/bin/defaults read /Library/Preferences/com.apple.SoftwareUpdate';
const MANAGED_UPDATES =
  '/usr/bin/defaults read /Library/Managed Preferences/com.apple.SoftwareUpdate';
const XPROTECT =
  '/usr/bin/defaults read /Library/Apple/System/Library/CoreServices/XProtect.bundle/Contents/Info CFBundleShortVersionString';

/** Per kind of capture: the check, and what the machine prints for it (`output`: the capture). */
const MACHINES: Record<
  string,
  (output: Scripted, capture: Capture) => [PostureCheck, Record<string, Scripted>, PostureSettings?]
> = {
  filevault: (output) => [macos.macFileVault, { '/usr/bin/fdesetup status': output }],
  sip: (output) => [macos.macSip, { '/usr/bin/csrutil status': output }],
  gatekeeper: (output) => [macos.macGatekeeper, { '/usr/sbin/spctl --status': output }],
  firewall: (output) => [
    macos.macFirewall,
    { '/usr/libexec/ApplicationFirewall/socketfilterfw --getglobalstate': output },
  ],
  'automatic-updates': (output) => [
    macos.macAutomaticUpdates,
    {
      [LOCAL_UPDATES]: output,
      // the captures are of the local domain; no MDM profile sets the managed one
      [MANAGED_UPDATES]: {
        code: 1,
        stderr: '\nDomain /Library/Managed Preferences/com.apple.SoftwareUpdate does not exist\n',
      },
    },
  ],
  'os-version': (output, capture) => [
    macos.macOsVersion,
    { '/usr/bin/sw_vers -productVersion': output },
    { ...SETTINGS, minimumMacOSVersion: capture.floor ?? SETTINGS.minimumMacOSVersion },
  ],
  'screen-lock': (output) => [
    macos.macScreenLock,
    { [CONSOLE]: '501 ada\n', [SCREEN_LOCK]: output },
  ],
  xprotect: (output, capture) => [
    macos.macXProtect,
    { [XPROTECT]: output },
    {
      ...SETTINGS,
      minimumXProtectVersion: Number(capture.floor ?? SETTINGS.minimumXProtectVersion),
    },
  ],
};

/** The check a capture is for, and the machine that prints it. */
function machine(capture: Capture): {
  check: PostureCheck;
  commands: Record<string, Scripted>;
  settings: PostureSettings;
} {
  const text = fixture(`${FOLDER}/${capture.file}`);
  const output: Scripted =
    capture.stream === 'stderr' ? { code: 0, stdout: '', stderr: text } : text;
  const make = MACHINES[capture.check];
  if (!make) throw new Error(`${FOLDER}/index.json: no check "${capture.check}" (${capture.file})`);
  const [check, commands, settings = SETTINGS] = make(output, capture);
  return { check, commands, settings };
}

const verdictOn = (capture: Capture) => {
  const { check, commands, settings } = machine(capture);
  return runOn(check, { commands }, { settings });
};

describe('macOS checks on outputs captured on real Macs', () => {
  it('has every capture in the index, and only those', () => {
    const files = readdirSync(join(fixturesDir, FOLDER)).filter((name) => name !== 'index.json');
    expect(captures.map((capture) => capture.file).sort()).toEqual(files.sort());
    for (const capture of captures) expect(capture.source, capture.file).not.toBe('');
  });

  it.each(captures)('$check gives $expect on $file', async (capture) => {
    const verdict = await verdictOn(capture);
    expect(verdict.status, `${verdict.evidence}\nsource: ${capture.source}`).toBe(capture.expect);
  });

  it.each(captures.filter((capture) => capture.off))(
    'automatic updates name only the keys that are off in $file',
    async (capture) => {
      const verdict = await verdictOn(capture);
      const named = /^turned off: ([\w, ]+) \(/.exec(verdict.evidence)?.[1]?.split(', ');
      expect(named?.sort()).toEqual([...capture.off!].sort());
    },
  );

  it.each(captures.filter((capture) => capture.disabled))(
    'SIP names the protections turned off in $file',
    async (capture) => {
      const verdict = await verdictOn(capture);
      expect(verdict.evidence).toContain(
        `custom configuration, disabled: ${capture.disabled!.join(', ')} (`,
      );
    },
  );

  it('shows the macOS default for update keys a Mac never set', async () => {
    const verdict = await verdictOn(
      captures.find((capture) => capture.file.includes('keys-unset'))!,
    );
    for (const key of [
      'AutomaticCheckEnabled',
      'AutomaticDownload',
      'CriticalUpdateInstall',
      'ConfigDataInstall',
    ])
      expect(verdict.evidence).toContain(`${key} = on (not set: macOS default)`);
  });

  it('says FileVault is not on yet when its enablement is deferred', async () => {
    const verdict = await verdictOn(captures.find((capture) => capture.file.includes('deferred'))!);
    expect(verdict.evidence).toContain('deferred');
    expect(verdict.evidence).toContain('not on yet');
  });
});
