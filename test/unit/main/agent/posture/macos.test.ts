// The macOS checks run only on macOS; here their parsers and verdicts meet command outputs in the
// formats those commands print, for passing and failing machines.
import { describe, expect, it } from 'vitest';
import {
  compareVersions,
  evaluateSoftwareUpdate,
  macAutomaticUpdates,
  macFileVault,
  macFirewall,
  macGatekeeper,
  macOsVersion,
  macScreenLock,
  macSip,
  macXProtect,
  MACOS_CHECKS,
  parseCsrutil,
  parseDefaults,
  parseFdesetup,
  parseFirewallState,
  parseScreenLock,
  parseSpctl,
} from '../../../../../main/agent/posture/macos';
import { checksFor } from '../../../../../main/agent/posture/monitor';
import { fixture, runOn } from '../../../../helpers/posture';

const mac = (name: string) => fixture(`macos/${name}`);

describe('macOS parsers on outputs in each command’s format', () => {
  it('fdesetup status', () => {
    expect(parseFdesetup(mac('fdesetup-status.on.txt'))).toBe('on');
    expect(parseFdesetup(mac('fdesetup-status.off.txt'))).toBe('off');
    expect(parseFdesetup(mac('fdesetup-status.encrypting.txt'))).toBe('encrypting');
    expect(parseFdesetup('fdesetup: command not found')).toBeUndefined();
  });

  it('fdesetup status: deferred enablement is not on yet', () => {
    expect(parseFdesetup('Deferred enablement appears to be active.\n')).toBe('deferred');
    expect(parseFdesetup('FileVault is On.\nDeferred enablement appears to be active.\n')).toBe(
      'on',
    );
  });

  it('csrutil status', () => {
    expect(parseCsrutil(mac('csrutil-status.enabled.txt'))?.state).toBe('enabled');
    expect(parseCsrutil(mac('csrutil-status.disabled.txt'))?.state).toBe('disabled');
    expect(parseCsrutil(mac('csrutil-status.custom.txt'))).toEqual({
      state: 'custom',
      disabled: ['Kext Signing'],
    });
  });

  it('csrutil status: hyphenated protections count, the Apple Internal line does not', () => {
    const output = [
      'System Integrity Protection status: unknown (Custom Configuration).',
      '',
      'Configuration:',
      '\tApple Internal: disabled',
      '\tKext Signing: enabled',
      '\tBoot-arg Restrictions: disabled',
      '\tKernel Integrity Protections: disabled',
      '',
    ].join('\n');
    expect(parseCsrutil(output)).toEqual({
      state: 'custom',
      disabled: ['Boot-arg Restrictions', 'Kernel Integrity Protections'],
    });
  });

  it('spctl --status', () => {
    expect(parseSpctl(mac('spctl-status.enabled.txt'))).toBe(true);
    expect(parseSpctl(mac('spctl-status.disabled.txt'))).toBe(false);
  });

  it('socketfilterfw --getglobalstate', () => {
    expect(parseFirewallState(mac('socketfilterfw-getglobalstate.enabled.txt'))).toBe(1);
    expect(parseFirewallState(mac('socketfilterfw-getglobalstate.block-all.txt'))).toBe(2);
    expect(parseFirewallState(mac('socketfilterfw-getglobalstate.disabled.txt'))).toBe(0);
  });

  it('defaults read: top-level scalars only', () => {
    const values = parseDefaults(mac('defaults-read-SoftwareUpdate.all-on.txt'));
    expect(values.get('AutomaticCheckEnabled')).toBe('1');
    expect(values.get('LastAttemptSystemVersion')).toBe('14.5 (23F79)');
    expect(values.has('PrimaryLanguages')).toBe(false);
    expect(values.has('en')).toBe(false);
  });

  it('sysadminctl -screenLock status', () => {
    expect(parseScreenLock(mac('sysadminctl-screenLock-status.immediate.txt'))).toEqual({
      off: false,
      delayS: 0,
    });
    expect(parseScreenLock(mac('sysadminctl-screenLock-status.3600.txt'))).toEqual({
      off: false,
      delayS: 3600,
    });
    expect(parseScreenLock(mac('sysadminctl-screenLock-status.off.txt'))).toEqual({ off: true });
  });

  it('sysadminctl -screenLock status: a fractional delay, and a negative one is off', () => {
    expect(parseScreenLock('screenLock delay is 300.000000 seconds\n')).toEqual({
      off: false,
      delayS: 300,
    });
    expect(parseScreenLock('screenLock delay is 1.500000 seconds\n')).toEqual({
      off: false,
      delayS: 1.5,
    });
    expect(parseScreenLock('screenLock delay is -1.000000 seconds\n')).toEqual({ off: true });
    expect(parseScreenLock('screenLock delay is -1 seconds\n')).toEqual({ off: true });
    expect(parseScreenLock('screenLock delay is soon\n')).toBeUndefined();
  });

  it('compares versions numerically', () => {
    expect(compareVersions('14.10', '14.9')).toBeGreaterThan(0);
    expect(compareVersions('13.6.7', '14.0')).toBeLessThan(0);
    expect(compareVersions('14', '14.0.0')).toBe(0);
  });
});

describe('macOS checks', () => {
  it('FileVault', async () => {
    const on = await runOn(macFileVault, {
      commands: { '/usr/bin/fdesetup status': mac('fdesetup-status.on.txt') },
    });
    expect(on).toEqual({ status: 'pass', evidence: '`fdesetup status`: FileVault is On.' });
    const off = await runOn(macFileVault, {
      commands: { '/usr/bin/fdesetup status': mac('fdesetup-status.off.txt') },
    });
    expect(off.status).toBe('fail');
    const encrypting = await runOn(macFileVault, {
      commands: { '/usr/bin/fdesetup status': mac('fdesetup-status.encrypting.txt') },
    });
    expect(encrypting.status).toBe('fail');
    expect(encrypting.evidence).toContain('(not finished yet)');
    const deferred = await runOn(macFileVault, {
      commands: { '/usr/bin/fdesetup status': 'Deferred enablement appears to be active.\n' },
    });
    expect(deferred).toEqual({
      status: 'fail',
      evidence:
        '`fdesetup status`: Deferred enablement appears to be active. (not on yet: enablement is deferred until the user next logs out or in)',
    });
    expect((await runOn(macFileVault, {})).status).toBe('unknown');
  });

  it('SIP', async () => {
    const check = (file: string) =>
      runOn(macSip, { commands: { '/usr/bin/csrutil status': mac(file) } });
    expect((await check('csrutil-status.enabled.txt')).status).toBe('pass');
    expect((await check('csrutil-status.disabled.txt')).status).toBe('fail');
    const custom = await check('csrutil-status.custom.txt');
    expect(custom.status).toBe('fail');
    expect(custom.evidence).toContain('custom configuration, disabled: Kext Signing (');
  });

  it('Gatekeeper', async () => {
    const check = (file: string) =>
      runOn(macGatekeeper, { commands: { '/usr/sbin/spctl --status': mac(file) } });
    expect((await check('spctl-status.enabled.txt')).status).toBe('pass');
    expect((await check('spctl-status.disabled.txt')).status).toBe('fail');
  });

  it('firewall', async () => {
    const check = (file: string) =>
      runOn(macFirewall, {
        commands: {
          '/usr/libexec/ApplicationFirewall/socketfilterfw --getglobalstate': mac(file),
        },
      });
    expect((await check('socketfilterfw-getglobalstate.enabled.txt')).status).toBe('pass');
    expect((await check('socketfilterfw-getglobalstate.block-all.txt')).status).toBe('pass');
    expect((await check('socketfilterfw-getglobalstate.disabled.txt')).status).toBe('fail');
    expect((await runOn(macFirewall, {})).status).toBe('unknown');
  });

  describe('automatic updates', () => {
    const updates = (local: string | { code: number; stderr: string }, managed?: string) =>
      runOn(macAutomaticUpdates, {
        commands: {
          '/usr/bin/defaults read /Library/Preferences/com.apple.SoftwareUpdate':
            typeof local === 'string' ? mac(local) : local,
          '/usr/bin/defaults read /Library/Managed Preferences/com.apple.SoftwareUpdate':
            managed ?? {
              code: 1,
              stderr: 'Domain /Library/Managed Preferences/com.apple.SoftwareUpdate does not exist',
            },
        },
      });

    it('passes with every option on', async () => {
      expect(await updates('defaults-read-SoftwareUpdate.all-on.txt')).toEqual({
        status: 'pass',
        evidence:
          'AutomaticCheckEnabled = 1, AutomaticDownload = 1, CriticalUpdateInstall = 1, ConfigDataInstall = 1',
      });
    });

    it('fails with downloads and critical updates off', async () => {
      const verdict = await updates('defaults-read-SoftwareUpdate.download-off.txt');
      expect(verdict.status).toBe('fail');
      expect(verdict.evidence).toMatch(/^turned off: AutomaticDownload, CriticalUpdateInstall/);
    });

    it('lets a managed (MDM) value win over the local one', async () => {
      const verdict = await updates(
        'defaults-read-SoftwareUpdate.all-on.txt',
        '{\n    AutomaticDownload = 0;\n}\n',
      );
      expect(verdict.status).toBe('fail');
      expect(verdict.evidence).toContain('AutomaticDownload = 0 (managed)');
    });

    it('takes an unset key as macOS does: on, and says so', async () => {
      const partial = await updates('defaults-read-SoftwareUpdate.partial.txt');
      expect(partial).toEqual({
        status: 'pass',
        evidence:
          'AutomaticCheckEnabled = 1, AutomaticDownload = 1, CriticalUpdateInstall = on (not set: macOS default), ConfigDataInstall = on (not set: macOS default)',
      });
      const none = await updates({
        code: 1,
        stderr: 'Domain /Library/Preferences/com.apple.SoftwareUpdate does not exist',
      });
      expect(none.status).toBe('pass');
      expect(evaluateSoftwareUpdate(new Map(), new Map()).status).toBe('pass');
    });

    it('reads values as macOS reads a boolean preference', () => {
      const local = (value: string) =>
        evaluateSoftwareUpdate(new Map(), new Map([['AutomaticCheckEnabled', value]]));
      for (const on of ['1', 'YES', 'yes', 'true', 'TRUE', '1.0'])
        expect(local(on).status, on).toBe('pass');
      for (const off of ['0', 'NO', 'false', '0.0']) {
        expect(local(off).status, off).toBe('fail');
        expect(local(off).evidence).toMatch(/^turned off: AutomaticCheckEnabled \(/);
      }
      const odd = local('sometimes');
      expect(odd.status).toBe('unknown');
      expect(odd.evidence).toContain('AutomaticCheckEnabled = sometimes');
    });

    it('is unknown when a domain cannot be read for another reason than its absence', async () => {
      const verdict = await updates({
        code: 1,
        stderr:
          'Could not read /Library/Preferences/com.apple.SoftwareUpdate: Operation not permitted',
      });
      expect(verdict.status).toBe('unknown');
      expect(verdict.evidence).toContain('Operation not permitted');
    });
  });

  it('OS version against the configured floor', async () => {
    const version = (file: string, floor: string) =>
      runOn(
        macOsVersion,
        { commands: { '/usr/bin/sw_vers -productVersion': mac(file) } },
        { settings: { minimumMacOSVersion: floor, minimumXProtectVersion: 0 } },
      );
    expect(await version('sw_vers-productVersion.14.5.txt', '14.0')).toEqual({
      status: 'pass',
      evidence: 'macOS 14.5; the minimum is 14.0',
    });
    expect(await version('sw_vers-productVersion.13.6.7.txt', '14.0')).toEqual({
      status: 'fail',
      evidence: 'macOS 13.6.7 is older than the minimum 14.0',
    });
    expect((await version('sw_vers-productVersion.14.5.txt', '15')).status).toBe('fail');
  });

  describe('screen lock', () => {
    const asUser =
      '/bin/launchctl asuser 501 /usr/bin/sudo -u ada /usr/sbin/sysadminctl -screenLock status';
    const lockSaying = (answer: string) =>
      runOn(macScreenLock, {
        commands: {
          '/usr/bin/stat -f %u %Su /dev/console': '501 ada\n',
          // sysadminctl writes its answer to stderr
          [asUser]: { code: 0, stdout: '', stderr: answer },
        },
      });
    const lock = (file: string) => lockSaying(mac(file));

    it('passes when a password is required immediately', async () => {
      expect(await lock('sysadminctl-screenLock-status.immediate.txt')).toEqual({
        status: 'pass',
        evidence: 'ada: a password is required immediately after the screen saver starts',
      });
    });

    it('fails when off or too late', async () => {
      expect((await lock('sysadminctl-screenLock-status.off.txt')).status).toBe('fail');
      expect((await lock('sysadminctl-screenLock-status.3600.txt')).status).toBe('fail');
    });

    it('reads a fractional delay, and a negative one as off', async () => {
      expect(await lockSaying('screenLock delay is 300.000000 seconds\n')).toEqual({
        status: 'pass',
        evidence: 'ada: a password is required 300 s after the screen saver starts',
      });
      expect(await lockSaying('screenLock delay is -1.000000 seconds\n')).toEqual({
        status: 'fail',
        evidence: 'ada: the screen lock is off (sysadminctl)',
      });
    });

    it('is unknown at the login window', async () => {
      const verdict = await runOn(macScreenLock, {
        commands: { '/usr/bin/stat -f %u %Su /dev/console': '0 root\n' },
      });
      expect(verdict.status).toBe('unknown');
    });
  });

  it('XProtect against the configured floor, taking the newer bundle', async () => {
    const legacy =
      '/usr/bin/defaults read /Library/Apple/System/Library/CoreServices/XProtect.bundle/Contents/Info CFBundleShortVersionString';
    const active =
      '/usr/bin/defaults read /var/protected/xprotect/XProtect.bundle/Contents/Info CFBundleShortVersionString';
    const xprotect = (commands: Record<string, string>) =>
      runOn(
        macXProtect,
        { commands },
        { settings: { minimumMacOSVersion: '14.0', minimumXProtectVersion: 2162 } },
      );
    const newer = await xprotect({
      [legacy]: mac('defaults-read-XProtect-CFBundleShortVersionString.2149.txt'),
      [active]: mac('defaults-read-XProtect-CFBundleShortVersionString.2193.txt'),
    });
    expect(newer).toEqual({
      status: 'pass',
      evidence:
        'XProtect 2193 (/var/protected/xprotect/XProtect.bundle/Contents/Info.plist); the minimum is 2162',
    });
    const old = await xprotect({
      [legacy]: mac('defaults-read-XProtect-CFBundleShortVersionString.2149.txt'),
    });
    expect(old.status).toBe('fail');
    expect((await xprotect({})).status).toBe('unknown');
  });

  it('are the checks on macOS, with Gatehouse healthy; Linux gets its own', () => {
    expect(checksFor('darwin')).toBe(MACOS_CHECKS);
    expect(MACOS_CHECKS.map((check) => check.id)).toEqual([
      'macos.filevault',
      'macos.sip',
      'macos.gatekeeper',
      'macos.firewall',
      'macos.automatic-updates',
      'macos.os-version',
      'macos.screen-lock',
      'macos.xprotect',
      'gatehouse.healthy',
    ]);
    expect(checksFor('linux').map((check) => check.id)).toContain('linux.disk-encryption');
    expect(checksFor('win32')).toEqual([]);
  });
});
