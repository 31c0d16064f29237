import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { CHANNELS, STATE_CHANNEL, type GatehouseApi } from '../../../../common/ipc';

const exposed: Record<string, unknown> = {};
const invoke = vi.fn(async (..._args: unknown[]) => 'answer');
const listeners = new Map<string, (...args: unknown[]) => void>();

vi.mock('electron', () => ({
  contextBridge: {
    exposeInMainWorld: (key: string, api: unknown) => {
      exposed[key] = api;
    },
  },
  ipcRenderer: {
    invoke: (...args: unknown[]) => invoke(...args),
    on: (channel: string, listener: (...args: unknown[]) => void) =>
      listeners.set(channel, listener),
    removeListener: (channel: string) => listeners.delete(channel),
  },
}));

describe('preload', () => {
  let api: GatehouseApi;
  beforeAll(async () => {
    await import('../../../../main/preload/index');
    api = exposed.gatehouse as GatehouseApi;
  });

  it('exposes window.gatehouse only, with one function per call and nothing generic', () => {
    expect(Object.keys(exposed)).toEqual(['gatehouse']);
    expect(Object.keys(api).sort()).toEqual([...Object.keys(CHANNELS), 'onState'].sort());
    for (const value of Object.values(api)) expect(typeof value).toBe('function');
    expect(api).not.toHaveProperty('send');
    expect(api).not.toHaveProperty('invoke');
  });

  it.each<[keyof typeof CHANNELS, unknown[]]>([
    ['getState', []],
    ['getBlock', [7]],
    ['requestApproval', [7, 'I need it for the release.']],
    ['replyToRequest', [3, 'The docs site.']],
    ['dismissBlock', [7, 'week']],
    ['openBlock', [7]],
    ['openEventDetail', [7]],
    ['syncNow', []],
    ['quit', []],
  ])('%s invokes its own channel with exactly its arguments', async (name, args) => {
    invoke.mockClear();
    const call = api[name] as (...args: unknown[]) => Promise<unknown>;
    expect(await call(...args)).toBe('answer');
    expect(invoke).toHaveBeenCalledExactlyOnceWith(CHANNELS[name], ...args);
  });

  it('passes state pushes to the listener without the IPC event, and stops on request', () => {
    const seen: unknown[] = [];
    const stop = api.onState((state) => seen.push(state));
    listeners.get(STATE_CHANNEL)?.({ sender: 'ipc event' }, { appVersion: '1' });
    expect(seen).toEqual([{ appVersion: '1' }]);
    stop();
    expect(listeners.has(STATE_CHANNEL)).toBe(false);
  });
});

describe('renderer page', () => {
  it("has a CSP that allows only the app's own scripts and styles, and no connections", () => {
    const html = readFileSync(join(import.meta.dirname, '../../../../renderer/index.html'), 'utf8');
    const csp = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1] ?? '';
    const directives = Object.fromEntries(
      csp.split(';').map((part) => {
        const [name, ...values] = part.trim().split(/\s+/);
        return [name, values.join(' ')];
      }),
    );
    expect(directives).toMatchObject({
      'default-src': "'none'",
      'script-src': "'self'",
      'style-src': "'self'",
      'connect-src': "'none'",
    });
  });
});
