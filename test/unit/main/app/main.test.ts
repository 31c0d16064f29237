// main/app/main.ts is Electron wiring only; here it runs against a fake Electron to show that
// what it wires is the secure, complete set.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CHANNELS } from '../../../../common/ipc';

interface FakeElectron {
  lock: boolean;
  calls: string[];
  appListeners: Map<string, (...args: unknown[]) => void>;
  windows: { options: Record<string, unknown>; loaded: unknown[] }[];
  trays: unknown[];
  handled: string[];
  opened: string[];
  permission:
    ((contents: unknown, permission: string, callback: (ok: boolean) => void) => void) | undefined;
}

/** The recorder as a fresh Electron leaves it: each test starts from one. */
const freshFake = (): FakeElectron => ({
  lock: true,
  calls: [],
  appListeners: new Map(),
  windows: [],
  trays: [],
  handled: [],
  opened: [],
  permission: undefined,
});

const fake: FakeElectron = freshFake();

vi.mock('electron', () => {
  let nextId = 1;
  class BrowserWindow {
    readonly webContents = {
      id: nextId++,
      send: () => {},
      on: () => {},
      setWindowOpenHandler: () => {},
    };
    readonly record: { options: Record<string, unknown>; loaded: unknown[] };
    constructor(options: Record<string, unknown>) {
      this.record = { options, loaded: [] };
      fake.windows.push(this.record);
    }
    async loadFile(...args: unknown[]) {
      this.record.loaded.push(args);
    }
    async loadURL(url: string) {
      this.record.loaded.push([url]);
    }
    on() {}
    once() {}
    show() {}
    hide() {}
    focus() {}
    close() {}
    isVisible() {
      return false;
    }
    isDestroyed() {
      return false;
    }
    setPosition() {}
  }
  class Tray {
    constructor(image: unknown) {
      fake.trays.push(image);
    }
    setImage() {}
    setToolTip() {}
    setTitle() {}
    on() {}
    getBounds() {
      return { x: 0, y: 0, width: 22, height: 22 };
    }
    destroy() {}
  }
  return {
    app: {
      enableSandbox: () => fake.calls.push('enableSandbox'),
      requestSingleInstanceLock: () => fake.lock,
      quit: () => fake.calls.push('quit'),
      on: (event: string, listener: (...args: unknown[]) => void) =>
        fake.appListeners.set(event, listener),
      getPath: () => '/tmp/gatehouse-app-main-test',
      whenReady: () => Promise.resolve(),
      isPackaged: false,
      setLoginItemSettings: () => {},
    },
    BrowserWindow,
    Tray,
    ipcMain: {
      handle: (channel: string) => fake.handled.push(channel),
      removeHandler: () => {},
    },
    nativeImage: {
      createFromBuffer: (buffer: Buffer, options: unknown) => ({ png: buffer.length > 0, options }),
    },
    Notification: class {
      static isSupported() {
        return true;
      }
      on() {}
      show() {}
    },
    screen: { getDisplayNearestPoint: () => ({ workArea: { x: 0, y: 0, width: 1, height: 1 } }) },
    session: {
      defaultSession: {
        setPermissionRequestHandler: (handler: FakeElectron['permission']) =>
          (fake.permission = handler),
      },
    },
    shell: { openExternal: async (url: string) => void fake.opened.push(url) },
  };
});
vi.mock('electron-updater', () => ({ default: { autoUpdater: {} } }));
vi.mock('../../../../main/agent/control/client', () => ({
  DEFAULT_SOCKET_PATH: '/run/gatehouse/gatehouse.sock',
  ControlClient: {
    connect: () => Promise.reject(new Error('the Gatehouse service is not running (test)')),
  },
}));

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('the Electron wiring of the menu-bar role', () => {
  beforeEach(() => {
    vi.resetModules();
    Object.assign(fake, freshFake());
  });
  afterEach(() => fake.appListeners.get('before-quit')?.());

  it('sandboxes, hardens every webContents, and starts tray, popover and IPC', async () => {
    await import('../../../../main/app/main');
    await settle();
    expect(fake.calls).toEqual(['enableSandbox']);
    expect(fake.trays).toEqual([{ png: true, options: { scaleFactor: 2 } }]);
    expect(fake.windows).toHaveLength(1);
    expect(fake.windows[0]!.options).toMatchObject({
      frame: false,
      show: false,
      webPreferences: { sandbox: true, contextIsolation: true, nodeIntegration: false },
    });
    expect(fake.windows[0]!.loaded).toEqual([
      [expect.stringMatching(/\/renderer\/index\.html$/), { hash: 'popover' }],
    ]);
    expect(fake.handled.sort()).toEqual(Object.values(CHANNELS).sort());

    // Any webContents, even one created by something else: no webview, no navigation, no
    // window; only https leaves for the browser.
    const handlers = new Map<string, (event: { preventDefault(): void }) => void>();
    let openHandler: ((details: { url: string }) => unknown) | undefined;
    fake.appListeners.get('web-contents-created')?.(
      {},
      {
        on: (event: string, listener: (event: { preventDefault(): void }) => void) =>
          handlers.set(event, listener),
        setWindowOpenHandler: (handler: (details: { url: string }) => unknown) =>
          (openHandler = handler),
      },
    );
    for (const event of ['will-attach-webview', 'will-navigate']) {
      let prevented = false;
      handlers.get(event)?.({ preventDefault: () => (prevented = true) });
      expect(prevented, event).toBe(true);
    }
    expect(openHandler?.({ url: 'https://helpdesk.example/' })).toEqual({ action: 'deny' });
    expect(openHandler?.({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' });
    expect(fake.opened).toEqual(['https://helpdesk.example/']);

    const answers: boolean[] = [];
    fake.permission?.({}, 'media', (ok) => answers.push(ok));
    expect(answers).toEqual([false]);
  });

  it('a second instance quits at once and opens nothing', async () => {
    fake.lock = false;
    await import('../../../../main/app/main');
    await settle();
    expect(fake.calls).toEqual(['enableSandbox', 'quit']);
    expect(fake.windows).toEqual([]);
    expect(fake.handled).toEqual([]);
  });
});
