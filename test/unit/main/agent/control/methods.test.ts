// The control socket's contract (common/control.ts): the one declaration of its methods, who
// may call them and what they take, which the service's handlers must match.
import { describe, expect, it } from 'vitest';
import {
  checkParams,
  CONTROL_METHODS,
  isControlMethod,
  ParamsError,
} from '../../../../../common/control';
import type { Agent } from '../../../../../main/agent/agent';
import { controlHandlers } from '../../../../../main/agent/control/methods';
import { SyncPace, UserPace } from '../../../../../main/agent/control/pace';

const sha = 'AB'.repeat(32);

describe('the control contract', () => {
  it('has a method only for what it declares, never for inherited names', () => {
    for (const name of ['status', 'rules.add', 'posture.run'])
      expect(isControlMethod(name)).toBe(true);
    for (const name of ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'rules'])
      expect(isControlMethod(name)).toBe(false);
  });

  it('declares which methods need root, and no others', () => {
    const rootOnly = Object.entries(CONTROL_METHODS)
      .filter(([, method]) => method.rootOnly)
      .map(([name]) => name);
    expect(rootOnly.sort()).toEqual(
      [
        'flushCache',
        'rules.add',
        'rules.list',
        'rules.remove',
        'rules.transitive',
        'setMode',
      ].sort(),
    );
  });

  it('is served by one handler per method and none besides', () => {
    const handlers = controlHandlers({
      agent: {} as Agent,
      status: () => {
        throw new Error('not called');
      },
      count: () => {},
      syncs: new SyncPace(1000, undefined),
      postureRuns: new UserPace(1000),
      runPosture: undefined,
      sendReply: undefined,
    });
    expect(Object.keys(handlers).sort()).toEqual(Object.keys(CONTROL_METHODS).sort());
  });

  it('fills in defaults and ignores names it does not declare', () => {
    expect(checkParams('events', undefined)).toEqual({ limit: 50 });
    expect(checkParams('events', { limit: 7, colour: 'blue' })).toEqual({ limit: 7 });
    expect(checkParams('rules.list', {})).toEqual({ limit: 1000, offset: 0 });
    expect(checkParams('status', { anything: 1 })).toEqual({});
  });

  it.each([
    ['events', [1, 2], 'params must be an object'],
    ['events', { limit: 'all' }, 'limit must be an integer from 1 to 1000'],
    ['events', { limit: 1.5 }, 'limit must be an integer from 1 to 1000'],
    ['fileinfo', { md5: 'x' }, 'sha256 must be a SHA-256 (64 hex digits)'],
    ['fileinfo', { sha256: sha, md5: 'not an md5' }, 'md5 must be an MD5 (32 hex digits)'],
    ['fileinfo', { sha256: sha, path: 42 }, 'path must be a string of 1 to 4096 characters'],
    ['requests.create', { eventId: 0, justification: 'x' }, 'eventId must be an integer from 1'],
    [
      'requests.create',
      { eventId: 1, justification: '   short   ' },
      'justification must be at least 10 characters',
    ],
    ['requests.reply', { requestId: 1, text: '   ' }, 'text must not be blank'],
    ['setMode', { mode: 'STANDALONE' }, 'mode must be one of MONITOR, LOCKDOWN, got "STANDALONE"'],
    ['setMode', {}, 'mode must be one of MONITOR, LOCKDOWN, got nothing'],
    [
      'rules.add',
      { type: 'CDHASH', identifier: 'zz', policy: 'ALLOWLIST' },
      'CDHASH rule "zz" refused: the identifier must be 40 hex digits',
    ],
    [
      'rules.add',
      { type: 'BINARY', identifier: sha, policy: 'ALLOWLIST', comment: '' },
      'comment must be a string of 1 to 1000 characters',
    ],
  ] as const)('%s %j is refused: %s', (method, params, message) => {
    expect(() => checkParams(method, params)).toThrow(ParamsError);
    expect(() => checkParams(method, params)).toThrow(message);
  });

  it('reads what passes into the shape the handler needs', () => {
    expect(checkParams('fileinfo', { sha256: sha, md5: 'C'.repeat(32) })).toEqual({
      sha256: sha.toLowerCase(),
      md5: 'c'.repeat(32),
      path: undefined,
    });
    expect(
      checkParams('requests.create', { eventId: 3, justification: '  for the release build  ' }),
    ).toEqual({ eventId: 3, justification: 'for the release build' });
    expect(
      checkParams('rules.add', {
        type: 'CDHASH',
        identifier: 'AB'.repeat(20),
        policy: 'BLOCKLIST',
        customMsg: 'ask first',
      }),
    ).toEqual({
      rule: { type: 'CDHASH', identifier: 'ab'.repeat(20), policy: 'BLOCKLIST' },
      customMsg: 'ask first',
      comment: undefined,
    });
  });

  it('lets a removal name a stored rule the rule constructor refuses, and nothing else', () => {
    expect(checkParams('rules.remove', { type: 'BINARY', identifier: sha })).toEqual({
      rule: { type: 'BINARY', identifier: sha.toLowerCase(), policy: 'REMOVE' },
    });
    expect(checkParams('rules.remove', { type: 'CDHASH', identifier: 'zz' })).toEqual({
      refused: 'CDHASH rule "zz" refused: the identifier must be 40 hex digits',
      stored: { type: 'CDHASH', identifier: 'zz' },
    });
    expect(checkParams('rules.remove', { type: 7 })).not.toHaveProperty('stored');
  });
});
