import { describe, expect, it } from 'vitest';
import {
  ExecMonitor,
  ExecMonitorOptionsError,
  validateMonitorOptions,
} from '../../../native/monitor';

describe('exec monitor options', () => {
  it.each([
    { mode: 'MONITOR' },
    {
      mode: 'LOCKDOWN',
      backend: 'fake',
      failClosed: true,
      deadlineMs: 5000,
      workers: 4,
      denyCacheMs: 1500,
      queueCapacity: 100,
      notifyQueueSize: 100,
      watchPaths: ['/'],
    },
  ])('accepts %j', (options) => {
    expect(validateMonitorOptions(options)).toEqual([]);
  });

  it.each([
    [{ mode: 'lockdwn' }, 'mode must be MONITOR or LOCKDOWN, got "lockdwn"'],
    [{ mode: 'MONITOR', backend: 'kqueue' }, 'backend must be "fanotify" or "fake", got "kqueue"'],
    [{ mode: 'MONITOR', failClosed: 'yes' }, 'failClosed must be true or false, got "yes"'],
    [{ mode: 'MONITOR', deadlineMs: 5 }, 'deadlineMs must be an integer from 100 to 600000, got 5'],
    [
      { mode: 'MONITOR', deadlineMs: 1.5e3 + 0.5 },
      'deadlineMs must be an integer from 100 to 600000, got 1500.5',
    ],
    [{ mode: 'MONITOR', workers: 0 }, 'workers must be an integer from 1 to 64, got 0'],
    [
      { mode: 'MONITOR', denyCacheMs: -1 },
      'denyCacheMs must be an integer from 0 to 60000, got -1',
    ],
    [
      { mode: 'MONITOR', queueCapacity: '10' },
      'queueCapacity must be an integer from 1 to 1000000, got "10"',
    ],
    [
      { mode: 'MONITOR', notifyQueueSize: 0 },
      'notifyQueueSize must be an integer from 1 to 1000000, got 0',
    ],
    [
      { mode: 'MONITOR', watchPaths: [] },
      'watchPaths must be a non-empty list of absolute paths, got []',
    ],
    [
      { mode: 'MONITOR', watchPaths: ['relative/dir'] },
      'watchPaths entries must be absolute paths, got "relative/dir"',
    ],
  ])('rejects %j: %s', (options, message) => {
    expect(validateMonitorOptions(options)).toEqual([message]);
  });

  it('lists every problem at once', () => {
    expect(validateMonitorOptions({ mode: 'x', workers: 99 })).toHaveLength(2);
    expect(validateMonitorOptions(null)).toEqual(['options must be an object']);
  });

  it('refuses to start with bad options, before touching the native addon', () => {
    const monitor = new ExecMonitor(() => {
      throw new Error('the addon must not be loaded');
    });
    expect(() => monitor.start({ mode: 'LOCKDWN' as never })).toThrow(ExecMonitorOptionsError);
    expect(() => monitor.start({ mode: 'LOCKDWN' as never })).toThrow(
      'exec monitor: mode must be MONITOR or LOCKDOWN, got "LOCKDWN"',
    );
    expect(monitor.running).toBe(false);
  });

  it('says what to do when used before start()', () => {
    expect(() => new ExecMonitor().metrics()).toThrow(
      'exec monitor: metrics() needs a running monitor; call start() first',
    );
  });
});
