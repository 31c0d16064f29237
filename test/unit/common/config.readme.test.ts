import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_TABLE } from '../../../common/config';

interface ReadmeRow {
  readonly keys: readonly string[];
  readonly shownDefault: string;
}

/** The rows of README.md's Configuration table; a row may explain several keys. */
function readmeRows(): ReadmeRow[] {
  const readme = readFileSync(join(import.meta.dirname, '../../../README.md'), 'utf8');
  const section = readme.split(/^## /m).find((part) => part.startsWith('Configuration\n'));
  if (!section) throw new Error('README.md has no "## Configuration" section');
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const [keyCell = '', defaultCell = ''] = line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim());
      // A parenthesis in the key cell says where an unset value comes from, not another key.
      const keys = [...keyCell.replace(/\([^)]*\)/g, '').matchAll(/`([^`]+)`/g)].map(
        (match) => match[1]!,
      );
      return { keys, shownDefault: defaultCell };
    });
}

/** The default as the README shows it: the value in code type, or the table's own words. */
function shownDefault(spec: (typeof CONFIG_TABLE)[number]): string {
  if ('shownDefault' in spec && spec.shownDefault !== undefined) return spec.shownDefault;
  const value: unknown = spec.default;
  if (value === undefined) return '';
  return `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``;
}

describe("README.md's Configuration table", () => {
  const rows = readmeRows();
  const documented = rows.flatMap((row) => row.keys);

  it('names every key of the config table once, and no other', () => {
    expect([...documented].sort()).toEqual(CONFIG_TABLE.map((spec) => spec.key).sort());
  });

  it.each(CONFIG_TABLE.map((spec) => [spec.key, spec] as const))(
    'shows the default of %s',
    (key, spec) => {
      const row = rows.find((candidate) => candidate.keys.includes(key));
      expect(row?.shownDefault).toBe(shownDefault(spec));
    },
  );
});
