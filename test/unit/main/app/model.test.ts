import { describe, expect, it } from 'vitest';
import { AppModel } from '../../../../main/app/model';
import { parseAppState } from '../../../../common/ipc';

const event = (id: number, decision: string, builtBy?: string) => ({
  id,
  fileName: `prog${id}`,
  filePath: '/home/dev/src',
  fileSha256: 'ab'.repeat(32),
  executingUser: 'dev',
  decision,
  executionTime: 1_700_000_000 + id,
  occurrences: 1,
  ...(builtBy ? { builtBy } : {}),
});

describe('the menu bar model: programs built here', () => {
  it('keeps the first run of a program on a transitive rule, with its compiler, apart from blocks', () => {
    const model = new AppModel();
    expect(model.applyEvent(event(1, 'ALLOW_TRANSITIVE', '/usr/bin/x86_64-linux-gnu-ld.bfd'))).toBe(
      undefined,
    );
    expect(model.applyEvent(event(2, 'BLOCK_UNKNOWN'))?.id).toBe(2);
    // An allow that names no compiler is not "built here".
    model.applyEvent(event(3, 'ALLOW_BINARY'));
    const state = parseAppState(JSON.parse(JSON.stringify(model.state('1.0.0'))));
    expect(state.built?.map((e) => [e.fileName, e.builtBy])).toEqual([
      ['prog1', '/usr/bin/x86_64-linux-gnu-ld.bfd'],
    ]);
    expect(state.blocks.map((e) => e.id)).toEqual([2]);
  });
});
