import { describe, expect, it } from 'vitest';
import { parseAgentStatus } from '../../../common/ipc';
import { describeProtection, protectionOf } from '../../../common/status';

describe('protection state', () => {
  it.each([
    [{ reachable: false }, 'unreachable'],
    [{ reachable: true, mode: 'LOCKDOWN', monitorRunning: false }, 'problem'],
    [{ reachable: true, mode: 'LOCKDOWN', monitorRunning: true }, 'protected'],
    [{ reachable: true, mode: 'MONITOR', monitorRunning: true }, 'monitor-only'],
  ] as const)('%j is %s', (status, expected) => {
    expect(protectionOf(status)).toBe(expected);
  });

  it('has a headline for every state', () => {
    for (const state of ['protected', 'monitor-only', 'problem', 'unreachable'] as const) {
      expect(describeProtection(state).headline.length).toBeGreaterThan(0);
    }
  });
});

describe('parseAgentStatus', () => {
  it('keeps a well-formed status', () => {
    expect(parseAgentStatus({ reachable: true, mode: 'MONITOR', monitorRunning: true })).toEqual({
      reachable: true,
      mode: 'MONITOR',
      monitorRunning: true,
    });
  });

  it.each([null, 'up', 42, { reachable: 'yes' }, {}])('reads %j as unreachable', (value) => {
    expect(parseAgentStatus(value)).toEqual({ reachable: false });
  });

  it('drops an unknown mode rather than trusting it', () => {
    expect(parseAgentStatus({ reachable: true, mode: 'lockdwn', monitorRunning: true })).toEqual({
      reachable: true,
      monitorRunning: true,
    });
  });
});
