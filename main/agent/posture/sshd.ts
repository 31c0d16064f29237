// OpenSSH server configuration, read the way sshd reads it when `sshd -T` cannot run: the first
// value obtained for a keyword wins, Include pulls files in at its place (relative paths are
// under /etc/ssh, wildcards sorted), and a Match block's settings apply only to the connections
// it matches.
import { posix } from 'node:path';
import type { Host } from './host';

export interface SshdSetting {
  readonly value: string;
  /** The file that set it. */
  readonly file: string;
}

export interface SshdConfigReading {
  /** Global PermitRootLogin, undefined when no file sets it (sshd's default applies). */
  readonly permitRootLogin: SshdSetting | undefined;
  /** PermitRootLogin values set inside Match blocks: they override the global one there. */
  readonly matchOverrides: readonly (SshdSetting & { readonly match: string })[];
  readonly filesRead: readonly string[];
}

const MAX_DEPTH = 16;

/** Splits a config line into keyword and arguments (quotes group words, `=` may separate). */
function words(line: string): string[] {
  const result: string[] = [];
  const pattern = /"([^"]*)"|([^\s=]+)/g;
  for (const match of line.matchAll(pattern)) result.push(match[1] ?? match[2]!);
  return result;
}

function wildcard(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escaped.replaceAll('*', '.*').replaceAll('?', '.')}$`);
}

/** Files an Include argument names, in the order sshd reads them. */
async function expandInclude(host: Host, argument: string, base: string): Promise<string[]> {
  const path = posix.isAbsolute(argument) ? argument : posix.join(base, argument);
  const dir = posix.dirname(path);
  const name = posix.basename(path);
  if (/[*?]/.test(dir)) return []; // wildcards only in the file name are followed
  if (!/[*?]/.test(name)) return (await host.exists(path)) ? [path] : [];
  let entries: string[];
  try {
    entries = await host.readDir(dir);
  } catch {
    return [];
  }
  const matcher = wildcard(name);
  return entries
    .filter((entry) => matcher.test(entry))
    .sort()
    .map((entry) => posix.join(dir, entry));
}

export async function readSshdConfig(
  host: Host,
  path = '/etc/ssh/sshd_config',
): Promise<SshdConfigReading> {
  const filesRead: string[] = [];
  const matchOverrides: (SshdSetting & { match: string })[] = [];
  let permitRootLogin: SshdSetting | undefined;
  const base = posix.dirname(path);

  // `match` is the Match line in force where this file is included ('' at global scope); a
  // Match inside an included file ends with that file.
  const readOne = async (file: string, match: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) throw new Error(`${file}: Include nested more than ${MAX_DEPTH} deep`);
    const text = (await host.readFile(file)).toString('utf8');
    filesRead.push(file);
    let current = match;
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (!line || line.startsWith('#')) continue;
      const [keyword, ...args] = words(line);
      if (!keyword) continue;
      const key = keyword.toLowerCase();
      if (key === 'match') {
        current = args.join(' ');
        // "Match all" returns to settings that apply to every connection.
        if (current.toLowerCase() === 'all') current = '';
      } else if (key === 'include') {
        for (const argument of args)
          for (const included of await expandInclude(host, argument, base))
            await readOne(included, current, depth + 1);
      } else if (key === 'permitrootlogin' && args[0] !== undefined) {
        const value = args[0].toLowerCase();
        if (current) matchOverrides.push({ value, file, match: current });
        else permitRootLogin ??= { value, file };
      }
    }
  };
  await readOne(path, '', 0);
  return { permitRootLogin, matchOverrides, filesRead };
}

/** `sshd -T` output: the effective value of a keyword (lower-cased), if printed. */
export function effectiveSetting(output: string, keyword: string): string | undefined {
  for (const line of output.split('\n')) {
    const [key, value] = line.trim().split(/\s+/, 2);
    if (key?.toLowerCase() === keyword && value) return value.toLowerCase();
  }
  return undefined;
}
