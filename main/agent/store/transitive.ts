// Transitive rules kept across restarts. The table itself lives in the native layer: the build
// tracker mints rules on its own thread and the exec path looks them up without JavaScript, so a
// rule made while JavaScript is busy is never lost or late. The agent only keeps a snapshot, one
// JSON file in StateDir written whole and atomically, which needs no schema of its own; the
// native table bounds the number (TransitiveCapacity, the rule used longest ago goes first).
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TransitiveRule } from '../../../common/rules';

export const TRANSITIVE_FILE = 'transitive-rules.json';
/** A snapshot larger than this is not read (the native table holds at most 1,000,000 rules). */
const MAX_FILE_BYTES = 256 * 1024 * 1024;
const MAX_RULES = 1_000_000;

const SHA256 = /^[0-9a-f]{64}$/;

/** Why an entry of a snapshot cannot be a transitive rule; undefined when it can. */
export function transitiveRuleProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const rule = value as Record<string, unknown>;
  for (const key of ['dev', 'inode', 'createdMs', 'lastUsedMs']) {
    const n = rule[key];
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
      return `${key} must be a non-negative integer`;
  }
  for (const key of ['sha256', 'compilerSha256']) {
    if (typeof rule[key] !== 'string' || !SHA256.test(rule[key] as string))
      return `${key} must be 64 lowercase hex digits`;
  }
  const compiler = rule.compiler;
  if (typeof compiler !== 'string' || !compiler.startsWith('/') || compiler.length > 4096)
    return 'compiler must be an absolute path of at most 4096 characters';
  return undefined;
}

export class TransitiveStore {
  readonly path: string;
  #saved = '';

  constructor(stateDir: string) {
    this.path = join(stateDir, TRANSITIVE_FILE);
  }

  /** The rules kept before; a missing file is none, a bad one is reported and ignored whole. */
  load(): { rules: TransitiveRule[]; problem?: string } {
    let text: string;
    try {
      if (statSync(this.path).size > MAX_FILE_BYTES)
        return { rules: [], problem: `${this.path} is larger than ${MAX_FILE_BYTES} bytes` };
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { rules: [] };
      return { rules: [], problem: `${this.path}: ${(error as Error).message}` };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      return { rules: [], problem: `${this.path} is not JSON: ${(error as Error).message}` };
    }
    if (!Array.isArray(parsed) || parsed.length > MAX_RULES)
      return { rules: [], problem: `${this.path} must be a list of at most ${MAX_RULES} rules` };
    const rules: TransitiveRule[] = [];
    let bad = 0;
    let first: string | undefined;
    for (const [index, entry] of parsed.entries()) {
      const problem = transitiveRuleProblem(entry);
      if (problem === undefined) rules.push(entry as TransitiveRule);
      else {
        bad++;
        first ??= `entry ${index}: ${problem}`;
      }
    }
    this.#saved = text;
    return bad === 0
      ? { rules }
      : { rules, problem: `${this.path}: ${bad} entries skipped (${first})` };
  }

  /** Writes the snapshot when it changed: whole, to a new file renamed over the old one. */
  save(rules: readonly TransitiveRule[]): boolean {
    const text = JSON.stringify(rules);
    if (text === this.#saved) return false;
    const next = `${this.path}.new`;
    writeFileSync(next, text, { mode: 0o600 });
    renameSync(next, this.path);
    this.#saved = text;
    return true;
  }
}
