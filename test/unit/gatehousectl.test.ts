import { describe, expect, it } from 'vitest';
import { runCtl } from '../../main/cli/gatehousectl';
import packageJson from '../../package.json' with { type: 'json' };

function run(...argv: string[]): { code: number; out: string } {
  const lines: string[] = [];
  const code = runCtl(argv, (line) => lines.push(line));
  return { code, out: lines.join('\n') };
}

describe('gatehousectl', () => {
  it('prints versions, from the native addon too, as JSON', () => {
    const { code, out } = run('version', '--json');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({
      gatehousectl: packageJson.version,
      native: packageJson.version,
      backend: process.platform === 'darwin' ? 'endpoint-security' : 'fanotify',
    });
  });

  it('answers an unknown command with usage and exit code 2', () => {
    const { code, out } = run('frobnicate');
    expect(code).toBe(2);
    expect(out).toContain('unknown command "frobnicate"');
    expect(out).toContain('usage: gatehousectl');
  });
});
