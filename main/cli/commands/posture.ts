import type { PostureResult } from '../../../common/posture';
import { askingCommand } from '../command';

const MARK = { pass: 'pass', fail: 'FAIL', unknown: '?   ' } as const;

/** One line per check; a check that does not pass gets its evidence and remediation below. */
export function formatPosture(results: readonly PostureResult[]): string[] {
  if (results.length === 0) return ['  not checked yet'];
  return results.flatMap((r) => [
    `  ${r.title.padEnd(26)}| ${MARK[r.status]} ${r.status === 'pass' ? r.evidence : ''}`.trimEnd(),
    ...(r.status === 'pass'
      ? []
      : [`  ${''.padEnd(26)}|      ${r.evidence}`, `  ${''.padEnd(26)}|      → ${r.remediation}`]),
  ]);
}

export const posture = askingCommand(
  {
    name: 'posture',
    synopsis: 'posture [--run]',
    summary: 'security posture checks; --run: run them now and wait',
    options: { run: { type: 'boolean' } },
  },
  async (service, { values }) =>
    values.run ? service.call('posture.run') : (await service.call('status')).posture,
  (results) => formatPosture(results).join('\n'),
);
