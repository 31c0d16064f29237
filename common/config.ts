// /etc/gatehouse/config.json as one table: each key once, with its type (which checks it), its
// default, who reads it and what it means. The service (main/agent/config/config.ts) and the
// menu-bar app (main/app/settings.ts) both parse through readConfigKeys, so they cannot disagree
// on what a key takes. README.md's Configuration table is checked against this one, key by key
// and default by default, by test/unit/common/config.readme.test.ts (checked, not generated, so that
// the README can explain several keys in one row).
import {
  absolutePath,
  boolean,
  clientMode,
  integer,
  machineTags,
  macOSVersion,
  pathList,
  show,
  staticRules,
  text,
  url,
  type ValueType,
} from './config-types';

export type { StaticRule } from './config-types';

export const DEFAULT_CONFIG_PATH = '/etc/gatehouse/config.json';

export type ConfigReader = 'agent' | 'app';

interface ConfigKey<F extends string, T, D extends T | undefined, R extends ConfigReader> {
  /** The key in config.json: Santa's name where the concept is the same. */
  readonly key: string;
  /** The property the parsed value goes to. */
  readonly field: F;
  readonly type: ValueType<T>;
  /** The value when the key is absent; undefined leaves the property out. */
  readonly default: D;
  /** The default as README.md words it, where the table cannot hold it as a value. */
  readonly shownDefault?: string;
  /** Who acts on the key. The service checks every key, but refuses to start only for its own. */
  readonly readers: readonly R[];
  readonly doc: string;
}

const entry = <F extends string, T, const D extends T | undefined, R extends ConfigReader>(
  spec: ConfigKey<F, T, D, R>,
) => {
  // Every parse hands out the same default list: frozen, so no reader can change another's.
  if (Array.isArray(spec.default)) Object.freeze(spec.default);
  return spec;
};

const AGENT = ['agent'] as const;
const BOTH = ['agent', 'app'] as const;

export const CONFIG_TABLE = [
  entry({
    key: 'ClientMode',
    field: 'clientMode',
    type: clientMode,
    default: 'MONITOR',
    readers: AGENT,
    doc: 'MONITOR records unknown programs and lets them run; LOCKDOWN blocks them.',
  }),
  entry({
    key: 'FailClosed',
    field: 'failClosed',
    type: boolean,
    // Unlike Santa's default: a decision a local user can stall must not become an allow.
    default: true,
    readers: AGENT,
    doc: 'In LOCKDOWN, block an exec that is not decided by DeadlineMs.',
  }),
  entry({
    key: 'SyncBaseURL',
    field: 'syncBaseUrl',
    type: url({ localHttp: true }),
    default: undefined,
    readers: AGENT,
    doc: 'The sync server.',
  }),
  entry({
    key: 'EnrollmentSecret',
    field: 'enrollmentSecret',
    type: text(1024),
    default: undefined,
    readers: AGENT,
    doc: 'Proves to the sync server that this machine may enroll.',
  }),
  entry({
    key: 'MachineID',
    field: 'machineId',
    type: text(256),
    // The service falls back to /etc/machine-id, which only it reads.
    default: undefined,
    readers: BOTH,
    doc: 'Names this machine to the sync server and in the block dialog.',
  }),
  entry({
    key: 'MachineOwner',
    field: 'machineOwner',
    type: text(256),
    default: undefined,
    readers: AGENT,
    doc: "The machine's primary user, sent to the sync server.",
  }),
  entry({
    key: 'MachineTags',
    field: 'machineTags',
    type: machineTags,
    default: [],
    readers: AGENT,
    doc: 'Gatehouse: tags claimed at enrollment; in force once an admin accepts them in the console.',
  }),
  entry({
    key: 'EventDetailURL',
    field: 'eventDetailUrl',
    type: url({ placeholders: true, santaNull: true }),
    default: undefined,
    readers: BOTH,
    doc: "The block dialog's Open button: a URL with Santa's %placeholders%.",
  }),
  entry({
    key: 'EventDetailText',
    field: 'eventDetailText',
    type: text(64),
    default: undefined,
    readers: BOTH,
    doc: "The label of the block dialog's Open button.",
  }),
  entry({
    key: 'AllowedPathPrefixes',
    field: 'allowedPathPrefixes',
    type: pathList(),
    default: [],
    readers: AGENT,
    doc: 'Files under these paths are allowed after rules (prefixes, not Santa regexes).',
  }),
  entry({
    key: 'BlockedPathPrefixes',
    field: 'blockedPathPrefixes',
    type: pathList(),
    default: [],
    readers: AGENT,
    doc: 'Files under these paths are blocked after rules, before the allowed prefixes.',
  }),
  entry({
    key: 'StaticRules',
    field: 'staticRules',
    type: staticRules,
    default: [],
    readers: AGENT,
    doc: 'Rules that win over synced ones.',
  }),
  entry({
    key: 'EnableSilentMode',
    field: 'enableSilentMode',
    type: boolean,
    default: false,
    readers: BOTH,
    doc: 'No block notifications.',
  }),
  entry({
    key: 'EnableAllEventUpload',
    field: 'enableAllEventUpload',
    type: boolean,
    default: false,
    readers: AGENT,
    doc: 'Keep and upload every decision as an event, not only blocks.',
  }),
  entry({
    key: 'TrustPackageManagedBinaries',
    field: 'trustPackageManagedBinaries',
    type: boolean,
    default: false,
    readers: AGENT,
    doc: 'Linux: allow a file dpkg installed whose content dpkg still vouches for.',
  }),
  entry({
    key: 'EnableTransitiveRules',
    field: 'enableTransitiveRules',
    type: boolean,
    default: false,
    readers: AGENT,
    doc: 'Linux: an executable an ALLOWLIST_COMPILER program writes here may run (ALLOW_TRANSITIVE).',
  }),
  entry({
    key: 'DeadlineMs',
    field: 'deadlineMs',
    type: integer(100, 600_000),
    default: 5000,
    readers: AGENT,
    doc: 'Every exec is answered within this time.',
  }),
  entry({
    key: 'MaxExecutableSizeMB',
    field: 'maxExecutableSizeMB',
    type: integer(1, 4_194_304),
    default: 1024,
    readers: AGENT,
    doc: 'Gatehouse: larger files are not hashed (LOCKDOWN blocks them unless a scope allows).',
  }),
  entry({
    key: 'StateDir',
    field: 'stateDir',
    type: absolutePath,
    default: '/var/lib/gatehouse',
    readers: AGENT,
    doc: 'Where the SQLite store lives.',
  }),
  entry({
    key: 'SocketPath',
    field: 'socketPath',
    type: absolutePath,
    default: '/run/gatehouse/gatehouse.sock',
    readers: BOTH,
    doc: 'The control socket.',
  }),
  entry({
    key: 'WatchPaths',
    field: 'watchPaths',
    type: pathList({ nonEmpty: true }),
    default: undefined,
    shownDefault: 'every local filesystem',
    readers: AGENT,
    doc: 'Gatehouse: watch only the filesystems holding these paths.',
  }),
  entry({
    key: 'EventStoreLimit',
    field: 'eventStoreLimit',
    type: integer(100, 10_000_000),
    default: 100_000,
    readers: AGENT,
    doc: 'Gatehouse: events the store keeps before the oldest allows go.',
  }),
  entry({
    key: 'PostureIntervalSeconds',
    field: 'postureIntervalS',
    type: integer(60, 86_400),
    default: 900,
    readers: AGENT,
    doc: 'Gatehouse: seconds between posture check runs.',
  }),
  entry({
    key: 'PostureCheckTimeoutSeconds',
    field: 'postureTimeoutS',
    type: integer(1, 300),
    default: 30,
    readers: AGENT,
    doc: 'Gatehouse: seconds a posture check may take before it is reported unknown.',
  }),
  entry({
    key: 'PostureMinimumMacOSVersion',
    field: 'postureMinimumMacOSVersion',
    type: macOSVersion,
    default: '14.0',
    readers: AGENT,
    doc: 'Gatehouse, macOS: the oldest macOS version the posture check passes.',
  }),
  entry({
    key: 'PostureMinimumXProtectVersion',
    field: 'postureMinimumXProtectVersion',
    type: integer(0, 1_000_000),
    default: 2162,
    readers: AGENT,
    doc: 'Gatehouse, macOS: the oldest XProtect version the posture check passes.',
  }),
  entry({
    key: 'UpdateFeedURL',
    field: 'updateFeedUrl',
    type: url(),
    default: undefined,
    readers: ['app'],
    doc: "Gatehouse: the menu-bar app's update feed (electron-updater, generic provider).",
  }),
] as const;

/** Keys Santa has and Gatehouse refuses, with what to use instead. */
const REPLACED_KEYS: Readonly<Record<string, string>> = {
  AllowedPathRegex: 'AllowedPathPrefixes, a list of absolute path prefixes',
  BlockedPathRegex: 'BlockedPathPrefixes, a list of absolute path prefixes',
};

type Entry = (typeof CONFIG_TABLE)[number];
type ReadersOf<E> = E extends { readonly readers: readonly (infer R)[] } ? R : never;
type Filter<E, R> = E extends unknown ? (R extends ReadersOf<E> ? E : never) : never;
type ReadBy<R extends ConfigReader> = Filter<Entry, R>;
type ValueOf<E> = E extends { readonly type: ValueType<infer T> } ? Exclude<T, undefined> : never;

/** The values a reader gets: a key with a default is always there, one without only when set. */
export type ConfigValues<R extends ConfigReader> = {
  readonly [E in ReadBy<R> as undefined extends E['default'] ? never : E['field']]: ValueOf<E>;
} & {
  readonly [E in ReadBy<R> as undefined extends E['default'] ? E['field'] : never]?: ValueOf<E>;
};

export interface ReadConfigOptions<R extends ConfigReader> {
  readonly reader: R;
  /** Messages start with it ("config", "settings") and end with the file. */
  readonly label: string;
  readonly path: string;
  /** Check every key of the file, not only the reader's: warn about the rest and unknown keys. */
  readonly wholeFile: boolean;
}

export interface ReadConfig<R extends ConfigReader> {
  readonly values: ConfigValues<R>;
  /** Bad values of the reader's own keys: the reader cannot go on as configured. */
  readonly problems: readonly string[];
  readonly warnings: string[];
}

/** Reads one reader's keys from config.json's object, every problem at once. */
export function readConfigKeys<R extends ConfigReader>(
  raw: Readonly<Record<string, unknown>>,
  options: ReadConfigOptions<R>,
): ReadConfig<R> {
  const { label, path } = options;
  const problems: string[] = [];
  const warnings: string[] = options.wholeFile ? unknownKeys(raw, problems, options) : [];
  const values: Record<string, unknown> = {};
  for (const spec of CONFIG_TABLE as readonly ConfigKey<string, unknown, unknown, ConfigReader>[]) {
    const own = spec.readers.includes(options.reader);
    if (!own && !options.wholeFile) continue;
    const value = Object.hasOwn(raw, spec.key) ? raw[spec.key] : undefined;
    let parsed = spec.default;
    if (value !== undefined) {
      const checked = spec.type.check(value);
      if (checked.ok) parsed = checked.value;
      else
        (own ? problems : warnings).push(
          ...(
            checked.details ?? [`${spec.key} must be ${spec.type.allowed}, got ${show(value)}`]
          ).map((problem) => `${label}: ${problem} (${path})`),
        );
    }
    if (own && parsed !== undefined) values[spec.field] = parsed;
  }
  return { values: values as ConfigValues<R>, problems, warnings };
}

/** Warnings for keys no one reads; a replaced Santa key is a problem, as silence would mislead. */
function unknownKeys(
  raw: Readonly<Record<string, unknown>>,
  problems: string[],
  { label, path }: { label: string; path: string },
): string[] {
  const warnings: string[] = [];
  for (const key of Object.keys(raw)) {
    if (Object.hasOwn(REPLACED_KEYS, key))
      problems.push(`${label}: ${key} is not supported; use ${REPLACED_KEYS[key]} (${path})`);
    else if (!CONFIG_TABLE.some((spec) => spec.key === key))
      warnings.push(`${label}: unknown key ${show(key)} ignored (${path})`);
  }
  return warnings;
}
