import { describe, expect, it } from 'vitest';
import { autostartEntry, enableLaunchAtLogin } from '../../../../main/app/login';
import { readAppSettings } from '../../../../main/app/settings';
import { SilenceStore } from '../../../../main/app/silences';
import {
  startUpdater,
  UPDATE_CHECK_INTERVAL_MS,
  type UpdaterLike,
} from '../../../../main/app/updater';

describe('menu-bar settings from the service configuration', () => {
  it('reads the socket, the Open button, silent mode and the update feed', () => {
    const { settings, warnings } = readAppSettings(() =>
      JSON.stringify({
        SocketPath: '/run/custom/gatehouse.sock',
        EventDetailURL: 'https://helpdesk.example/%machine_id%/%file_sha%',
        EventDetailText: 'Ask the helpdesk',
        EnableSilentMode: true,
        MachineID: 'ada-laptop',
        UpdateFeedURL: 'https://updates.example/gatehouse',
        ClientMode: 'LOCKDOWN',
      }),
    );
    expect(warnings).toEqual([]);
    expect(settings).toEqual({
      socketPath: '/run/custom/gatehouse.sock',
      eventDetailUrl: 'https://helpdesk.example/%machine_id%/%file_sha%',
      eventDetailText: 'Ask the helpdesk',
      enableSilentMode: true,
      machineId: 'ada-laptop',
      updateFeedUrl: 'https://updates.example/gatehouse',
    });
  });

  it('uses the defaults when the file is missing, and says why when it is unreadable', () => {
    const missing = readAppSettings(() => {
      throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
    });
    expect(missing).toEqual({
      settings: { socketPath: '/run/gatehouse/gatehouse.sock', enableSilentMode: false },
      warnings: [],
    });
    const denied = readAppSettings(() => {
      throw Object.assign(new Error('permission denied'), { code: 'EACCES' });
    }, '/etc/gatehouse/config.json');
    expect(denied.warnings).toEqual([
      'settings: cannot read /etc/gatehouse/config.json (EACCES); using the defaults',
    ]);
  });

  it('refuses an EventDetailURL or update feed that is not https', () => {
    const { settings, warnings } = readAppSettings(
      () =>
        JSON.stringify({
          EventDetailURL: 'http://helpdesk.example/%file_sha%',
          UpdateFeedURL: 'ftp://x',
        }),
      '/etc/gatehouse/config.json',
    );
    expect(settings.eventDetailUrl).toBeUndefined();
    expect(settings.updateFeedUrl).toBeUndefined();
    expect(warnings).toEqual([
      'settings: EventDetailURL must be an https:// URL, got "http://helpdesk.example/%file_sha%" (/etc/gatehouse/config.json)',
      'settings: UpdateFeedURL must be an https:// URL, got "ftp://x" (/etc/gatehouse/config.json)',
    ]);
  });
});

describe('silences', () => {
  it('silences one binary for the chosen period, then forgets it', () => {
    let file: string | undefined;
    const store = new SilenceStore({ read: () => file, write: (text) => (file = text) });
    const day = 86_400_000;
    store.silence('a'.repeat(64), 'week', 0);
    expect(store.isSilenced('a'.repeat(64), 7 * day - 1)).toBe(true);
    expect(store.isSilenced('b'.repeat(64), 1)).toBe(false);
    expect(store.isSilenced('a'.repeat(64), 7 * day)).toBe(false);
    expect(JSON.parse(file!)).toEqual({ [`binary:${'a'.repeat(64)}`]: 7 * day });
  });

  it('reads a damaged file as no silences', () => {
    const store = new SilenceStore({ read: () => '{not json', write: () => {} });
    expect(store.isSilenced('a'.repeat(64))).toBe(false);
  });
});

describe('launch at login', () => {
  it('writes an XDG autostart entry on Linux', () => {
    const written: [string, string][] = [];
    const where = enableLaunchAtLogin({
      platform: 'linux',
      execPath: '/opt/Gatehouse/gatehouse',
      configHome: '/home/ada/.config',
      setLoginItemSettings: () => {
        throw new Error('not on Linux');
      },
      writeFile: (path, text) => written.push([path, text]),
    });
    expect(where).toBe('/home/ada/.config/autostart/gatehouse.desktop');
    expect(written[0]![1]).toContain('\nExec=/opt/Gatehouse/gatehouse\n');
  });

  it('quotes a path with spaces', () => {
    expect(autostartEntry('/opt/My Apps/gatehouse')).toContain('Exec="/opt/My Apps/gatehouse"');
  });

  it('uses login items on macOS', () => {
    const settings: unknown[] = [];
    enableLaunchAtLogin({
      platform: 'darwin',
      execPath: '/Applications/Gatehouse.app/Contents/MacOS/Gatehouse',
      configHome: '/Users/ada/.config',
      setLoginItemSettings: (value) => settings.push(value),
      writeFile: () => {
        throw new Error('not on macOS');
      },
    });
    expect(settings).toEqual([{ openAtLogin: true }]);
  });
});

describe('updater', () => {
  function fakeUpdater() {
    const log: unknown[] = [];
    const updater: UpdaterLike = {
      autoDownload: false,
      autoInstallOnAppQuit: false,
      setFeedURL: (options) => log.push(options),
      checkForUpdates: async () => log.push('check'),
      on: () => updater,
    };
    return { updater, log };
  }

  it('checks the generic feed at start and every six hours', () => {
    const { updater, log } = fakeUpdater();
    const intervals: number[] = [];
    startUpdater(updater, 'https://updates.example/gatehouse', () => {}, {
      setInterval: (_callback, ms) => intervals.push(ms),
      clearInterval: () => {},
    });
    expect(log).toEqual([
      { provider: 'generic', url: 'https://updates.example/gatehouse' },
      'check',
    ]);
    expect(updater.autoDownload).toBe(true);
    expect(intervals).toEqual([UPDATE_CHECK_INTERVAL_MS]);
  });

  it('says so and does nothing without a feed', () => {
    const { updater, log } = fakeUpdater();
    const messages: string[] = [];
    startUpdater(updater, undefined, (message) => messages.push(message));
    expect(log).toEqual([]);
    expect(messages[0]).toMatch(/UpdateFeedURL is not set/);
  });
});
