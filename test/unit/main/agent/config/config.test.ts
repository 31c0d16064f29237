import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../../../../main/agent/config/config';
import { readAppSettings } from '../../../../../main/app/settings';

const FILE = '/etc/gatehouse/config.json';
const noMachineId = () => {
  throw new Error('no file');
};
const parse = (value: unknown) => parseConfig(JSON.stringify(value), FILE, () => 'machine-1234\n');

function problems(value: unknown): readonly string[] {
  try {
    parse(value);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

const SHA = 'a'.repeat(64);

describe('agent configuration', () => {
  it('has safe defaults: MONITOR, fail closed, 5 s deadline, 1 GiB hashed, the standard paths', () => {
    const { config, warnings } = parse({});
    expect(config).toMatchObject({
      clientMode: 'MONITOR',
      failClosed: true,
      deadlineMs: 5000,
      maxExecutableSizeMB: 1024,
      stateDir: '/var/lib/gatehouse',
      socketPath: '/run/gatehouse/gatehouse.sock',
      machineId: 'machine-1234',
      allowedPathPrefixes: [],
      blockedPathPrefixes: [],
      staticRules: [],
      enableSilentMode: false,
      enableAllEventUpload: false,
    });
    expect(warnings).toEqual([]);
  });

  it('reads every key', () => {
    const { config } = parse({
      ClientMode: 'LOCKDOWN',
      FailClosed: true,
      SyncBaseURL: 'https://sync.example.com/santa/',
      EnrollmentSecret: 's3cret',
      MachineID: 'm-1',
      MachineOwner: 'ada',
      MachineTags: ['engineering', 'eu-west', 'engineering'],
      EventDetailURL: 'https://helpdesk.example.com/e/%file_sha%',
      EventDetailText: 'Open',
      AllowedPathPrefixes: ['/opt/tools'],
      BlockedPathPrefixes: ['/tmp'],
      StaticRules: [
        {
          identifier: SHA.toUpperCase(),
          rule_type: 'BINARY',
          policy: 'BLOCKLIST',
          custom_msg: 'No',
        },
      ],
      EnableSilentMode: true,
      EnableAllEventUpload: true,
      TrustPackageManagedBinaries: false,
      DeadlineMs: 2000,
      StateDir: '/srv/gatehouse',
      SocketPath: '/srv/gatehouse.sock',
      WatchPaths: ['/home'],
      EventStoreLimit: 5000,
    });
    expect(config).toMatchObject({
      clientMode: 'LOCKDOWN',
      failClosed: true,
      syncBaseUrl: 'https://sync.example.com/santa/',
      machineId: 'm-1',
      machineTags: ['engineering', 'eu-west'],
      staticRules: [{ type: 'BINARY', identifier: SHA, policy: 'BLOCKLIST', customMsg: 'No' }],
      deadlineMs: 2000,
      watchPaths: ['/home'],
      eventStoreLimit: 5000,
    });
  });

  it("accepts Santa's numeric client modes", () => {
    expect(parse({ ClientMode: 2 }).config.clientMode).toBe('LOCKDOWN');
    expect(parse({ ClientMode: 1 }).config.clientMode).toBe('MONITOR');
  });

  it.each([
    [
      'ClientMode',
      'lockdwn',
      `config: ClientMode must be MONITOR or LOCKDOWN (or Santa's 1 or 2), got "lockdwn" (${FILE})`,
    ],
    ['FailClosed', 'yes', `config: FailClosed must be true or false, got "yes" (${FILE})`],
    [
      'MaxExecutableSizeMB',
      0,
      `config: MaxExecutableSizeMB must be an integer from 1 to 4194304, got 0 (${FILE})`,
    ],
    [
      'SyncBaseURL',
      'http://sync.example.com',
      `config: SyncBaseURL must be an https:// URL (http:// only for localhost), got "http://sync.example.com" (${FILE})`,
    ],
    [
      'SyncBaseURL',
      'not a url',
      `config: SyncBaseURL must be an https:// URL (http:// only for localhost), got "not a url" (${FILE})`,
    ],
    [
      'EnrollmentSecret',
      '',
      `config: EnrollmentSecret must be a string of 1 to 1024 characters, got "" (${FILE})`,
    ],
    [
      'MachineID',
      42,
      `config: MachineID must be a string of 1 to 256 characters, got 42 (${FILE})`,
    ],
    [
      'MachineOwner',
      ['ada'],
      `config: MachineOwner must be a string of 1 to 256 characters, got ["ada"] (${FILE})`,
    ],
    [
      'MachineTags',
      ['ok', 'has space'],
      `config: MachineTags must be a list of at most 50 tags (1 to 64 letters, digits, ".", "_" or "-"), got ["ok","has space"] (${FILE})`,
    ],
    [
      'EventDetailURL',
      'javascript:alert(1)',
      `config: EventDetailURL must be an https:// URL, got "javascript:alert(1)" (${FILE})`,
    ],
    [
      'EventDetailText',
      'x'.repeat(65),
      `config: EventDetailText must be a string of 1 to 64 characters, got "${'x'.repeat(65)}" (${FILE})`,
    ],
    [
      'AllowedPathPrefixes',
      ['relative'],
      `config: AllowedPathPrefixes must be a list of absolute paths, got ["relative"] (${FILE})`,
    ],
    [
      'BlockedPathPrefixes',
      '/tmp',
      `config: BlockedPathPrefixes must be a list of absolute paths, got "/tmp" (${FILE})`,
    ],
    [
      'StaticRules',
      {},
      `config: StaticRules must be a list of rules { identifier, rule_type, policy, custom_msg? }, got {} (${FILE})`,
    ],
    ['EnableSilentMode', 1, `config: EnableSilentMode must be true or false, got 1 (${FILE})`],
    [
      'EnableAllEventUpload',
      'true',
      `config: EnableAllEventUpload must be true or false, got "true" (${FILE})`,
    ],
    [
      'TrustPackageManagedBinaries',
      'no',
      `config: TrustPackageManagedBinaries must be true or false, got "no" (${FILE})`,
    ],
    [
      'DeadlineMs',
      50,
      `config: DeadlineMs must be an integer from 100 to 600000, got 50 (${FILE})`,
    ],
    ['StateDir', 'var/lib', `config: StateDir must be an absolute path, got "var/lib" (${FILE})`],
    ['SocketPath', 7, `config: SocketPath must be an absolute path, got 7 (${FILE})`],
    ['WatchPaths', [], `config: WatchPaths must be a list of absolute paths, got [] (${FILE})`],
    [
      'EventStoreLimit',
      10,
      `config: EventStoreLimit must be an integer from 100 to 10000000, got 10 (${FILE})`,
    ],
  ])('rejects a bad %s (%j)', (key, value, message) => {
    expect(problems({ [key]: value })).toEqual([message]);
  });

  it.each([
    [
      { identifier: SHA, rule_type: 'BINARI', policy: 'ALLOWLIST' },
      'StaticRules[0]: rule_type must be one of CDHASH, BINARY, SIGNINGID, CERTIFICATE, TEAMID, got "BINARI"',
    ],
    [
      { identifier: SHA, rule_type: 'BINARY', policy: 'ALLOW' },
      'StaticRules[0]: policy must be one of ALLOWLIST, ALLOWLIST_COMPILER, BLOCKLIST, SILENT_BLOCKLIST, got "ALLOW"',
    ],
    [
      { identifier: 'abc', rule_type: 'BINARY', policy: 'ALLOWLIST' },
      'StaticRules[0]: identifier of a BINARY rule must be a SHA-256 (64 hex digits), got "abc"',
    ],
    [
      { identifier: 'abc', rule_type: 'CDHASH', policy: 'ALLOWLIST' },
      'StaticRules[0]: identifier of a CDHASH rule must be 40 hex digits, got "abc"',
    ],
  ])('rejects a bad static rule %j', (rule, message) => {
    expect(problems({ StaticRules: [rule] })).toEqual([`config: ${message} (${FILE})`]);
  });

  it('rejects the regex scope keys and says what to use instead', () => {
    expect(problems({ AllowedPathRegex: '^/opt/' })).toEqual([
      `config: AllowedPathRegex is not supported; use AllowedPathPrefixes, a list of absolute path prefixes (${FILE})`,
    ]);
  });

  it('lists every problem at once', () => {
    expect(problems({ ClientMode: 'x', DeadlineMs: 'y', StateDir: 'z' })).toHaveLength(3);
  });

  it('warns about unknown keys', () => {
    expect(parse({ ClientMod: 'LOCKDOWN' }).warnings).toEqual([
      `config: unknown key "ClientMod" ignored (${FILE})`,
    ]);
    expect(parse({ TrustPackageManagedBinaries: true }).warnings).toEqual([]);
  });

  it('warns about a bad key only the menu bar reads, and still starts', () => {
    const { config, warnings } = parse({ UpdateFeedURL: 'ftp://x' });
    expect(config).not.toHaveProperty('updateFeedUrl');
    expect(warnings).toEqual([
      `config: UpdateFeedURL must be an https:// URL, got "ftp://x" (${FILE})`,
    ]);
  });

  it.each([
    [
      'EventDetailURL',
      'https://helpdesk.example/%file_sha%',
      'https://helpdesk.example/%file_sha%',
    ],
    // Santa's way to say there is no Open button.
    ['EventDetailURL', 'null', undefined],
    // Only lowercase placeholders are expanded, so an uppercase one is part of the URL.
    ['EventDetailURL', 'https://%TEAM%.example/', 'refused'],
    ['EventDetailURL', `https://h.example/${'x'.repeat(4096)}`, 'refused'],
    ['SocketPath', 'gatehouse.sock', 'refused'],
    ['EnableSilentMode', 'yes', 'refused'],
  ])('the service and the menu bar read %s %j alike', (key, value, expected) => {
    const read = () => JSON.stringify({ [key]: value });
    const app = readAppSettings(read, FILE);
    const field = { EventDetailURL: 'eventDetailUrl', SocketPath: 'socketPath' }[key];
    if (expected === 'refused') {
      expect(problems({ [key]: value })).toHaveLength(1);
      expect(app.warnings).toEqual([
        problems({ [key]: value })[0]!.replace('config:', 'settings:'),
      ]);
    } else {
      const agentValues: Record<string, unknown> = parse({ [key]: value }).config;
      const appValues: Record<string, unknown> = app.settings;
      expect(agentValues[field!]).toBe(expected);
      expect(appValues[field!]).toBe(expected);
      expect(app.warnings).toEqual([]);
    }
  });

  it('says what is wrong with a file that is not JSON, or not an object', () => {
    expect(() => parseConfig('{ "ClientMode": ', FILE)).toThrow(
      `config: ${FILE} is not valid JSON`,
    );
    expect(() => parseConfig('[1]', FILE)).toThrow(
      `config: ${FILE} must hold one JSON object of settings, got [1]`,
    );
  });

  it('warns when no machine id can be found', () => {
    expect(parseConfig('{}', FILE, noMachineId).warnings[0]).toContain('MachineID is not set');
  });

  it('uses the defaults when the default file is missing, but not a missing --config file', () => {
    const missing = () => {
      throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    };
    expect(loadConfig(FILE, missing).warnings[0]).toContain('does not exist; using the defaults');
    expect(() => loadConfig('/srv/custom.json', missing)).toThrow(
      'config: cannot read /srv/custom.json (ENOENT); pass an existing file with --config',
    );
  });

  it('the shipped config parses without a warning and picks the safe settings for LOCKDOWN', () => {
    const shipped = readFileSync(
      join(import.meta.dirname, '../../../../../build/config/config.json'),
      'utf8',
    );
    const { config, warnings } = parseConfig(shipped, 'build/config/config.json', () => 'm');
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({ failClosed: true, deadlineMs: 5000, maxExecutableSizeMB: 1024 });
  });
});
