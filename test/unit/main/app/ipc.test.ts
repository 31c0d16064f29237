import { describe, expect, it } from 'vitest';
import {
  CHANNELS,
  JUSTIFICATION_LIMITS,
  PAYLOADS,
  PayloadError,
  statusFromAgent,
} from '../../../../common/ipc';
import { JUSTIFICATION_LIMITS as AGENT_LIMITS } from '../../../../main/agent/store/requests';
import {
  registerIpcHandlers,
  UntrustedSenderError,
  type IpcHandlers,
  type IpcMainLike,
  type InvokeEventLike,
} from '../../../../main/app/ipc';

type Listener = (event: InvokeEventLike, ...args: unknown[]) => unknown;

function setUp() {
  const registered = new Map<string, Listener>();
  const ipcMain: IpcMainLike = {
    handle: (channel, listener) => void registered.set(channel, listener),
    removeHandler: (channel) => void registered.delete(channel),
  };
  const calls: unknown[][] = [];
  const record =
    (name: string) =>
    (...args: unknown[]) => {
      calls.push([name, ...args.slice(1)]);
      return 'ok';
    };
  const handlers = Object.fromEntries(
    Object.values(CHANNELS).map((channel) => [channel, record(channel)]),
  ) as unknown as IpcHandlers;
  const unregister = registerIpcHandlers(
    ipcMain,
    {
      isOwnWebContents: (id) => id === 1,
      renderer: { fileDir: '/opt/Gatehouse/resources/app.asar/out/renderer' },
    },
    handlers,
  );
  const trusted = 'file:///opt/Gatehouse/resources/app.asar/out/renderer/index.html#popover';
  const invoke = (channel: string, url: string, args: unknown[], senderId = 1) =>
    registered.get(channel)!({ sender: { id: senderId }, senderFrame: { url } }, ...args);
  return { registered, calls, invoke, trusted, unregister };
}

describe('IPC sender validation', () => {
  it('answers the app’s own window showing the app’s own page', () => {
    const { invoke, calls, trusted } = setUp();
    expect(invoke(CHANNELS.requestApproval, trusted, [3, '  needed for the release  '])).toBe('ok');
    expect(calls).toEqual([[CHANNELS.requestApproval, 3, 'needed for the release']]);
  });

  it.each([
    'https://evil.example/index.html',
    'http://127.0.0.1:5173/',
    'file:///tmp/index.html',
    'file:///opt/Gatehouse/resources/app.asar/out/renderer-evil/index.html',
    'data:text/html,hi',
    '',
  ])('refuses a frame at %j, before looking at the payload', (url) => {
    const { invoke, calls } = setUp();
    expect(() => invoke(CHANNELS.getState, url, [])).toThrow(UntrustedSenderError);
    expect(() => invoke(CHANNELS.requestApproval, url, [3, 'x'])).toThrow(/untrusted frame/);
    expect(calls).toEqual([]);
  });

  it('refuses a webContents the app did not create, even showing the right page', () => {
    const { invoke, calls, trusted } = setUp();
    expect(() => invoke(CHANNELS.getState, trusted, [], 2)).toThrow(UntrustedSenderError);
    expect(calls).toEqual([]);
  });

  it('refuses a sender without a frame', () => {
    const { registered, calls } = setUp();
    expect(() =>
      registered.get(CHANNELS.getState)!({ sender: { id: 1 }, senderFrame: null }),
    ).toThrow(/unknown/);
    expect(calls).toEqual([]);
  });

  it.each<[string, unknown[], RegExp]>([
    [CHANNELS.getBlock, ['7'], /eventId must be a positive integer/],
    [CHANNELS.getBlock, [0], /eventId must be a positive integer/],
    [CHANNELS.getBlock, [1.5], /eventId must be a positive integer/],
    [CHANNELS.getBlock, [], /expected 1 argument/],
    [CHANNELS.getState, [{}], /expected 0 argument/],
    [CHANNELS.requestApproval, [1, 'too short'], /justification must be 10 to 2000/],
    [CHANNELS.requestApproval, [1, 'x'.repeat(2001)], /justification must be 10 to 2000/],
    [CHANNELS.requestApproval, [1, { toString: () => 'a long enough text' }], /justification/],
    [CHANNELS.replyToRequest, [1, '   '], /reply must be 1 to 2000/],
    [CHANNELS.dismissBlock, [1, 'year'], /silence must be null, "day", "week" or "month"/],
    [CHANNELS.dismissBlock, [1, 'toString'], /silence must be/],
  ])('refuses %s with %j', (channel, args, message) => {
    const { invoke, calls, trusted } = setUp();
    expect(() => invoke(channel, trusted, args)).toThrow(message);
    expect(() => invoke(channel, trusted, args)).toThrow(PayloadError);
    expect(calls).toEqual([]);
  });

  it('has a schema for every channel, and removes every handler on unregister', () => {
    const { registered, unregister } = setUp();
    expect([...registered.keys()].sort()).toEqual(Object.keys(PAYLOADS).sort());
    unregister();
    expect(registered.size).toBe(0);
  });

  it('uses the limits the service applies to a justification', () => {
    expect(JUSTIFICATION_LIMITS).toEqual(AGENT_LIMITS);
  });
});

describe("the agent's status as the menu bar reads it", () => {
  const agentStatus = {
    version: '0.1.0',
    mode: 'LOCKDOWN',
    monitorRunning: true,
    lastSync: 1_700_000_000_000,
    syncBaseUrl: 'https://sync.example/santa/',
  };

  it('keeps the valid posture results and drops malformed ones', () => {
    const check = {
      id: 'linux.firewall',
      title: 'Firewall',
      status: 'fail',
      evidence: 'nft: no rules',
      remediation: 'Turn the firewall on.',
      checkedAt: 1,
    };
    expect(
      statusFromAgent({ ...agentStatus, posture: [check, { ...check, status: 'maybe' }] }),
    ).toEqual({
      reachable: true,
      mode: 'LOCKDOWN',
      monitorRunning: true,
      version: '0.1.0',
      lastSync: 1_700_000_000_000,
      syncConfigured: true,
      posture: [check],
    });
  });

  it('has no posture when the agent reports none, and no sync server when it has none', () => {
    const status = statusFromAgent({ ...agentStatus, syncBaseUrl: null, lastSync: null });
    expect(status.posture).toBeUndefined();
    expect(status.syncConfigured).toBeUndefined();
    expect(status.lastSync).toBeUndefined();
  });
});
