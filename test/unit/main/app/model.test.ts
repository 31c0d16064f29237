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

describe('the menu bar model: programs a synced rule now lets run', () => {
  const sha = 'ab'.repeat(32);
  const snapshot = (...events: unknown[]) => ({ status: {}, events, requests: [] });

  it('keeps the mark through a reconnect, unless the program was blocked again meanwhile', () => {
    const model = new AppModel();
    model.reset(snapshot(event(1, 'BLOCK_UNKNOWN'), event(2, 'BLOCK_UNKNOWN')));
    expect(model.applyRuleNotice({ sha256: sha, appName: 'Prog' })?.title).toBe(
      'Prog can now be run',
    );
    model.reset(
      snapshot(event(1, 'BLOCK_UNKNOWN'), { ...event(2, 'BLOCK_UNKNOWN'), occurrences: 2 }),
    );
    expect(model.state('').blocks.map((e) => [e.id, e.nowRuns])).toEqual([
      [2, null],
      [1, 'Prog'],
    ]);
  });

  it('tells of a program once, whether its rule or its approval arrives first', () => {
    const request = (state: string) => ({
      id: 7,
      eventId: 1,
      state,
      justification: 'x'.repeat(10),
      messages: [],
      createdAt: 1,
    });
    // The approval first: its own notice, and the rule that follows is no news.
    const approvedFirst = new AppModel();
    approvedFirst.applyEvent(event(1, 'BLOCK_UNKNOWN'));
    approvedFirst.applyRequest(request('pending'));
    expect(approvedFirst.applyRequest(request('approved'))?.notice?.title).toBe(
      'Approved: prog1 can run now',
    );
    expect(approvedFirst.applyRuleNotice({ sha256: sha, appName: 'Prog' })).toBeUndefined();
    // The rule first: its notice, and the approval that follows is no news.
    const ruleFirst = new AppModel();
    ruleFirst.applyEvent(event(1, 'BLOCK_UNKNOWN'));
    ruleFirst.applyRequest(request('pending'));
    expect(ruleFirst.applyRuleNotice({ sha256: sha, appName: 'Prog' })?.title).toBe(
      'Prog can now be run',
    );
    const approved = ruleFirst.applyRequest(request('approved'));
    expect(approved?.request.state).toBe('approved');
    expect(approved?.notice).toBeUndefined();
    // A rule that marked the block before any request does not silence that request's approval.
    const markedBefore = new AppModel();
    markedBefore.applyEvent(event(1, 'BLOCK_UNKNOWN'));
    expect(markedBefore.applyRuleNotice({ sha256: sha, appName: 'Prog' })?.title).toBe(
      'Prog can now be run',
    );
    markedBefore.applyRequest(request('pending'));
    expect(markedBefore.applyRuleNotice({ sha256: sha, appName: 'Prog' })).toBeUndefined();
    expect(markedBefore.applyRequest(request('approved'))?.notice?.title).toBe(
      'Approved: prog1 can run now',
    );
    // A denial still says so.
    ruleFirst.applyEvent({ ...event(2, 'BLOCK_UNKNOWN'), fileSha256: 'cd'.repeat(32) });
    expect(ruleFirst.applyRequest({ ...request('denied'), id: 8, eventId: 2 })?.notice?.title).toBe(
      'Denied: prog2',
    );
  });

  it('a mark is shown to the renderer through the shared schema', () => {
    const model = new AppModel();
    model.applyEvent(event(1, 'BLOCK_UNKNOWN'));
    model.applyRuleNotice({ sha256: sha, appName: 'Prog' });
    const state = parseAppState(JSON.parse(JSON.stringify(model.state('1.0.0'))));
    expect(state.blocks[0]?.nowRuns).toBe('Prog');
  });
});
