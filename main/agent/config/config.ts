// /etc/gatehouse/config.json for the service. What each key takes and defaults to is the table
// in common/config.ts; this file adds what only the service does: read the file, refuse to start
// on a bad value, and fall back to /etc/machine-id.
import { readFileSync } from 'node:fs';
import { DEFAULT_CONFIG_PATH, readConfigKeys, type ConfigValues } from '../../../common/config';
import { show } from '../../../common/config-types';

export { DEFAULT_CONFIG_PATH };
export type { StaticRule } from '../../../common/config';

export type AgentConfig = Omit<ConfigValues<'agent'>, 'machineId'> & {
  readonly path: string;
  /** Empty when neither MachineID nor /etc/machine-id gives one (a warning says so). */
  readonly machineId: string;
};

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

const readUtf8: Reader = (file) => readFileSync(file, 'utf8');

/** Parses and validates a config file's text; throws ConfigError listing every problem. */
export function parseConfig(text: string, path: string, readFile: Reader = readUtf8): LoadedConfig {
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
  const { values, problems, warnings } = readConfigKeys(o, {
    reader: 'agent',
    label: 'config',
    path,
    wholeFile: true,
  });
  if (problems.length > 0) throw new ConfigError(problems);
  let machineId = values.machineId ?? '';
  if (o.MachineID === undefined) {
    machineId = readMachineId(readFile);
    if (!machineId)
      warnings.push(`config: MachineID is not set and /etc/machine-id is unreadable (${path})`);
  }
  return { warnings, config: { ...values, path, machineId } };
}

function readMachineId(readFile: Reader): string {
  try {
    return readFile('/etc/machine-id').trim();
  } catch {
    return '';
  }
}

/** Reads a config file. A missing file at the default path means the defaults. */
export function loadConfig(
  path: string = DEFAULT_CONFIG_PATH,
  readFile: Reader = readUtf8,
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
