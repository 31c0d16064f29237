// /etc/gatehouse/config.json: keys after Santa's names where the concept is the same. Every bad
// value is reported with its key, the value, the file and what is allowed.
import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import {
  POLICIES,
  RULE_TYPES,
  validateRuleIdentifier,
  type ClientMode,
  type Policy,
  type RuleType,
} from '../../../common/rules';

export const DEFAULT_CONFIG_PATH = '/etc/gatehouse/config.json';

export interface StaticRule {
  readonly type: RuleType;
  readonly identifier: string;
  readonly policy: Policy;
  readonly customMsg?: string;
  readonly customUrl?: string;
  readonly comment?: string;
}

export interface AgentConfig {
  readonly path: string;
  readonly clientMode: ClientMode;
  readonly failClosed: boolean;
  readonly syncBaseUrl?: string;
  readonly enrollmentSecret?: string;
  readonly machineId: string;
  readonly machineOwner?: string;
  /** Gatehouse: tags sent at enrollment; tag-scoped rules reach machines carrying the tag. */
  readonly machineTags: readonly string[];
  readonly eventDetailUrl?: string;
  readonly eventDetailText?: string;
  readonly allowedPathPrefixes: readonly string[];
  readonly blockedPathPrefixes: readonly string[];
  readonly staticRules: readonly StaticRule[];
  readonly enableSilentMode: boolean;
  readonly enableAllEventUpload: boolean;
  readonly trustPackageManagedBinaries: boolean;
  readonly deadlineMs: number;
  /** Gatehouse: larger executables are not hashed (LOCKDOWN blocks them unless a scope allows). */
  readonly maxExecutableSizeMB: number;
  readonly stateDir: string;
  readonly socketPath: string;
  /** Gatehouse: watch only the filesystems holding these paths (default: every local one). */
  readonly watchPaths?: readonly string[];
  /** Gatehouse: how many events the store keeps before the oldest allows go. */
  readonly eventStoreLimit: number;
  /** Gatehouse: seconds between posture check runs. */
  readonly postureIntervalS: number;
  /** Gatehouse: seconds a posture check may take before it is reported unknown. */
  readonly postureTimeoutS: number;
  /** Gatehouse, macOS: the oldest macOS version the posture check passes. */
  readonly postureMinimumMacOSVersion: string;
  /** Gatehouse, macOS: the oldest XProtect version the posture check passes. */
  readonly postureMinimumXProtectVersion: number;
}

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export interface LoadedConfig {
  readonly config: AgentConfig;
  readonly warnings: readonly string[];
}

type Reader = (path: string) => string;

const KNOWN_KEYS = [
  'ClientMode',
  'FailClosed',
  'SyncBaseURL',
  'EnrollmentSecret',
  'MachineID',
  'MachineOwner',
  'MachineTags',
  'EventDetailURL',
  'EventDetailText',
  'AllowedPathPrefixes',
  'BlockedPathPrefixes',
  'StaticRules',
  'EnableSilentMode',
  'EnableAllEventUpload',
  'TrustPackageManagedBinaries',
  'DeadlineMs',
  'MaxExecutableSizeMB',
  'StateDir',
  'SocketPath',
  'WatchPaths',
  'EventStoreLimit',
  'PostureIntervalSeconds',
  'PostureCheckTimeoutSeconds',
  'PostureMinimumMacOSVersion',
  'PostureMinimumXProtectVersion',
  // Read by the menu-bar app (main/app/settings.ts): its electron-updater generic feed.
  'UpdateFeedURL',
] as const;

const show = (value: unknown) => JSON.stringify(value) ?? String(value);

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
}

/** Parses and validates a config file's text; throws ConfigError listing every problem. */
export function parseConfig(
  text: string,
  path: string,
  readFile: Reader = (file) => readFileSync(file, 'utf8'),
): LoadedConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([
      `config: ${path} is not valid JSON (${(error as Error).message}); fix the file or restore the last good one`,
    ]);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError([
      `config: ${path} must hold one JSON object of settings, got ${show(raw)}`,
    ]);
  }
  const o = raw as Record<string, unknown>;
  const problems: string[] = [];
  const warnings: string[] = [];
  const bad = (key: string, allowed: string) =>
    problems.push(`config: ${key} must be ${allowed}, got ${show(o[key])} (${path})`);

  for (const key of Object.keys(o)) {
    if (key === 'AllowedPathRegex' || key === 'BlockedPathRegex') {
      problems.push(
        `config: ${key} is not supported; use ${key.replace('Regex', 'Prefixes')}, a list of absolute path prefixes (${path})`,
      );
    } else if (!(KNOWN_KEYS as readonly string[]).includes(key)) {
      warnings.push(`config: unknown key ${show(key)} ignored (${path})`);
    }
  }

  const bool = (key: string, fallback: boolean): boolean => {
    if (o[key] === undefined) return fallback;
    if (typeof o[key] === 'boolean') return o[key] as boolean;
    bad(key, 'true or false');
    return fallback;
  };
  const text_ = (key: string, max: number): string | undefined => {
    const value = o[key];
    if (value === undefined) return undefined;
    if (typeof value === 'string' && value.length > 0 && value.length <= max) return value;
    bad(key, `a string of 1 to ${max} characters`);
    return undefined;
  };
  const absolutePath = (key: string, fallback: string): string => {
    const value = o[key];
    if (value === undefined) return fallback;
    if (typeof value === 'string' && isAbsolute(value)) return value;
    bad(key, 'an absolute path');
    return fallback;
  };
  const pathList = (key: string, nonEmpty = false): string[] | undefined => {
    const value = o[key];
    if (value === undefined) return undefined;
    if (
      Array.isArray(value) &&
      (!nonEmpty || value.length > 0) &&
      value.every((item) => typeof item === 'string' && isAbsolute(item))
    ) {
      return value as string[];
    }
    bad(key, 'a list of absolute paths');
    return undefined;
  };
  const integer = (key: string, min: number, max: number, fallback: number): number => {
    const value = o[key];
    if (value === undefined) return fallback;
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max)
      return value;
    bad(key, `an integer from ${min} to ${max}`);
    return fallback;
  };
  const url = (key: string, httpsOnly: boolean): string | undefined => {
    const value = o[key];
    if (value === undefined) return undefined;
    try {
      const parsed = new URL(String(value).replaceAll(/%[a-z_]+%/gi, 'x'));
      if (
        typeof value === 'string' &&
        (parsed.protocol === 'https:' ||
          (!httpsOnly && parsed.protocol === 'http:' && isLoopback(parsed.hostname)))
      ) {
        return value;
      }
    } catch {
      // reported below
    }
    bad(key, httpsOnly ? 'an https:// URL' : 'an https:// URL (http:// only for localhost)');
    return undefined;
  };

  let clientMode: ClientMode = 'MONITOR';
  const mode = o.ClientMode;
  if (mode === 'MONITOR' || mode === 1) clientMode = 'MONITOR';
  else if (mode === 'LOCKDOWN' || mode === 2) clientMode = 'LOCKDOWN';
  else if (mode !== undefined) bad('ClientMode', "MONITOR or LOCKDOWN (or Santa's 1 or 2)");

  const deadlineMs = integer('DeadlineMs', 100, 600_000, 5000);
  const maxExecutableSizeMB = integer('MaxExecutableSizeMB', 1, 4_194_304, 1024);
  const eventStoreLimit = integer('EventStoreLimit', 100, 10_000_000, 100_000);
  const postureIntervalS = integer('PostureIntervalSeconds', 60, 86_400, 900);
  const postureTimeoutS = integer('PostureCheckTimeoutSeconds', 1, 300, 30);
  const postureMinimumXProtectVersion = integer(
    'PostureMinimumXProtectVersion',
    0,
    1_000_000,
    2162,
  );
  let postureMinimumMacOSVersion = '14.0';
  if (o.PostureMinimumMacOSVersion !== undefined) {
    if (
      typeof o.PostureMinimumMacOSVersion === 'string' &&
      /^\d+(\.\d+){0,2}$/.test(o.PostureMinimumMacOSVersion)
    )
      postureMinimumMacOSVersion = o.PostureMinimumMacOSVersion;
    else bad('PostureMinimumMacOSVersion', 'a macOS version such as "14.0" or "15.3.1"');
  }

  const staticRules: StaticRule[] = [];
  if (o.StaticRules !== undefined) {
    if (!Array.isArray(o.StaticRules)) {
      bad('StaticRules', 'a list of rules { identifier, rule_type, policy, custom_msg? }');
    } else {
      o.StaticRules.forEach((entry: unknown, index) => {
        const where = `StaticRules[${index}]`;
        const r = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<
          string,
          unknown
        >;
        const type = r.rule_type as RuleType;
        const policy = r.policy as Policy;
        const identifier = r.identifier;
        const wrong: string[] = [];
        if (!RULE_TYPES.includes(type))
          wrong.push(`rule_type must be one of ${RULE_TYPES.join(', ')}, got ${show(r.rule_type)}`);
        if (!POLICIES.includes(policy))
          wrong.push(`policy must be one of ${POLICIES.join(', ')}, got ${show(r.policy)}`);
        // The rule constructor the native table mirrors: what it refuses never gets this far.
        const checked =
          typeof identifier === 'string' && identifier.length > 0 && RULE_TYPES.includes(type)
            ? validateRuleIdentifier(type, identifier)
            : undefined;
        if (typeof identifier !== 'string' || identifier.length === 0)
          wrong.push(`identifier must be a string, got ${show(identifier)}`);
        else if (checked && !checked.ok)
          wrong.push(`identifier of a ${type} rule must be ${checked.allowed}, got ${checked.got}`);
        if (wrong.length > 0 || !checked?.ok) {
          problems.push(...wrong.map((text) => `config: ${where}: ${text} (${path})`));
          return;
        }
        staticRules.push({
          type,
          identifier: checked.identifier,
          policy,
          ...(typeof r.custom_msg === 'string' ? { customMsg: r.custom_msg } : {}),
          ...(typeof r.custom_url === 'string' ? { customUrl: r.custom_url } : {}),
          ...(typeof r.comment === 'string' ? { comment: r.comment } : {}),
        });
      });
    }
  }

  let machineId = text_('MachineID', 256);
  if (machineId === undefined && o.MachineID === undefined) {
    try {
      machineId = readFile('/etc/machine-id').trim();
    } catch {
      machineId = '';
    }
    if (!machineId)
      warnings.push(`config: MachineID is not set and /etc/machine-id is unreadable (${path})`);
  }

  const trustPackageManagedBinaries = bool('TrustPackageManagedBinaries', false);
  const watchPaths = pathList('WatchPaths', true);
  // Unlike Santa's default: a decision a local user can stall must not become an allow.
  const failClosed = bool('FailClosed', true);
  const allowedPathPrefixes = pathList('AllowedPathPrefixes') ?? [];
  const blockedPathPrefixes = pathList('BlockedPathPrefixes') ?? [];
  const enableSilentMode = bool('EnableSilentMode', false);
  const enableAllEventUpload = bool('EnableAllEventUpload', false);
  const stateDir = absolutePath('StateDir', '/var/lib/gatehouse');
  const socketPath = absolutePath('SocketPath', '/run/gatehouse/gatehouse.sock');
  const syncBaseUrl = url('SyncBaseURL', false);
  const enrollmentSecret = text_('EnrollmentSecret', 1024);
  const machineOwner = text_('MachineOwner', 256);
  const machineTags = ((): string[] => {
    const value = o.MachineTags;
    if (value === undefined) return [];
    if (
      Array.isArray(value) &&
      value.length <= 50 &&
      value.every((tag) => typeof tag === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(tag))
    ) {
      return [...new Set(value as string[])];
    }
    bad('MachineTags', 'a list of at most 50 tags (1 to 64 letters, digits, ".", "_" or "-")');
    return [];
  })();
  const eventDetailUrl = url('EventDetailURL', true);
  const eventDetailText = text_('EventDetailText', 64);

  // Every value is read above this line, so that every problem is reported at once.
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    warnings,
    config: {
      path,
      clientMode,
      failClosed,
      ...(syncBaseUrl ? { syncBaseUrl } : {}),
      ...(enrollmentSecret ? { enrollmentSecret } : {}),
      machineId: machineId ?? '',
      ...(machineOwner ? { machineOwner } : {}),
      machineTags,
      ...(eventDetailUrl ? { eventDetailUrl } : {}),
      ...(eventDetailText ? { eventDetailText } : {}),
      allowedPathPrefixes,
      blockedPathPrefixes,
      staticRules,
      enableSilentMode,
      enableAllEventUpload,
      trustPackageManagedBinaries,
      deadlineMs,
      maxExecutableSizeMB,
      stateDir,
      socketPath,
      ...(watchPaths ? { watchPaths } : {}),
      eventStoreLimit,
      postureIntervalS,
      postureTimeoutS,
      postureMinimumMacOSVersion,
      postureMinimumXProtectVersion,
    },
  };
}

/** Reads a config file. A missing file at the default path means the defaults. */
export function loadConfig(
  path: string = DEFAULT_CONFIG_PATH,
  readFile: Reader = (file) => readFileSync(file, 'utf8'),
): LoadedConfig {
  let text: string;
  try {
    text = readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && path === DEFAULT_CONFIG_PATH) {
      const loaded = parseConfig('{}', path, readFile);
      return {
        ...loaded,
        warnings: [
          `config: ${path} does not exist; using the defaults (MONITOR)`,
          ...loaded.warnings,
        ],
      };
    }
    throw new ConfigError([
      `config: cannot read ${path} (${code ?? (error as Error).message}); pass an existing file with --config`,
    ]);
  }
  return parseConfig(text, path, readFile);
}
