import { describe, expect, it } from 'vitest';
import {
  AppWindows,
  POPOVER_SIZE,
  hardenWindow,
  popoverPosition,
  secureWebPreferences,
  type WindowLike,
  type WindowOptions,
} from '../../../../main/app/windows';

const screen = { x: 0, y: 0, width: 1920, height: 1080 };
const size = { width: 360, height: 540 };

describe('popover position', () => {
  it('sits centred under a tray icon at the top of the screen', () => {
    expect(popoverPosition({ x: 1000, y: 0, width: 24, height: 24 }, size, screen)).toEqual({
      x: 1000 + 12 - 180,
      y: 28,
    });
  });

  it('stays inside the work area at the right edge', () => {
    expect(popoverPosition({ x: 1900, y: 0, width: 20, height: 24 }, size, screen)).toEqual({
      x: 1920 - 360,
      y: 28,
    });
  });

  it('goes above a tray icon in a bottom panel', () => {
    expect(popoverPosition({ x: 10, y: 1050, width: 24, height: 30 }, size, screen)).toEqual({
      x: 0,
      y: 1050 - 540 - 4,
    });
  });

  it('respects a work area that does not start at 0 (a second display, a top bar)', () => {
    const second = { x: 1920, y: 32, width: 1280, height: 1000 };
    expect(popoverPosition({ x: 3150, y: 0, width: 24, height: 24 }, size, second)).toEqual({
      x: 1920 + 1280 - 360,
      y: 32,
    });
  });
});

class FakeWebContents {
  constructor(readonly id: number) {}
  sent: unknown[][] = [];
  navigate: ((event: { preventDefault(): void }, url: string) => void) | undefined;
  open: ((details: { url: string }) => { action: 'deny' }) | undefined;
  send(...args: unknown[]) {
    this.sent.push(args);
  }
  on(_event: 'will-navigate', listener: (event: { preventDefault(): void }, url: string) => void) {
    this.navigate = listener;
  }
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }) {
    this.open = handler;
  }
}

let ids = 1;
class FakeWindow implements WindowLike {
  readonly webContents = new FakeWebContents(ids++);
  visible = false;
  destroyed = false;
  loaded: string[] = [];
  position: [number, number] | undefined;
  listeners: Record<string, (() => void)[]> = {};
  constructor(readonly options: WindowOptions) {}
  async loadFile(path: string, options: { hash: string }) {
    this.loaded.push(`${path}#${options.hash}`);
  }
  async loadURL(url: string) {
    this.loaded.push(url);
  }
  show() {
    this.visible = true;
  }
  hide() {
    this.visible = false;
  }
  focus() {}
  close() {
    this.destroyed = true;
    this.emit('closed');
  }
  isVisible() {
    return this.visible;
  }
  isDestroyed() {
    return this.destroyed;
  }
  setPosition(x: number, y: number) {
    this.position = [x, y];
  }
  once(event: string, listener: () => void) {
    this.on(event, listener);
  }
  on(event: string, listener: () => void) {
    (this.listeners[event] ??= []).push(listener);
  }
  emit(event: string) {
    for (const listener of this.listeners[event] ?? []) listener();
  }
}

function windowsWithFakes(clock = { now: 0 }) {
  const created: FakeWindow[] = [];
  const opened: string[] = [];
  const windows = new AppWindows(
    {
      createWindow: (options) => {
        const window = new FakeWindow(options);
        created.push(window);
        return window;
      },
      openExternal: (url) => opened.push(url),
      workAreaAt: () => screen,
      renderer: { file: '/app/out/renderer/index.html' },
      preload: '/app/out/preload/index.cjs',
    },
    () => clock.now,
  );
  return { windows, created, opened };
}

describe('AppWindows', () => {
  it('creates every window sandboxed, isolated, without Node', async () => {
    const { windows, created } = windowsWithFakes();
    await windows.createPopover();
    await windows.showBlock(7, 'tool');
    for (const window of created) {
      expect(window.options.webPreferences).toEqual(
        secureWebPreferences('/app/out/preload/index.cjs'),
      );
      expect(window.options.webPreferences).toMatchObject({
        sandbox: true,
        contextIsolation: true,
        nodeIntegration: false,
        webviewTag: false,
      });
    }
    expect(created.map((w) => w.loaded[0])).toEqual([
      '/app/out/renderer/index.html#popover',
      '/app/out/renderer/index.html#block/7',
    ]);
    expect(created[0]!.options.frame).toBe(false);
  });

  it('shows the popover under the tray icon, hides it on a second click and on blur', async () => {
    const { windows, created } = windowsWithFakes();
    await windows.createPopover();
    const popover = created[0]!;
    windows.togglePopover({ x: 1000, y: 0, width: 24, height: 24 });
    expect(popover.visible).toBe(true);
    expect(popover.position).toEqual([1012 - POPOVER_SIZE.width / 2, 28]);
    windows.togglePopover({ x: 1000, y: 0, width: 24, height: 24 });
    expect(popover.visible).toBe(false);
    windows.togglePopover({ x: 1000, y: 0, width: 24, height: 24 });
    popover.emit('blur');
    expect(popover.visible).toBe(false);
  });

  it('a tray click that took the focus from the popover closes it, and does not reopen it', async () => {
    const clock = { now: 1_000 };
    const { windows, created } = windowsWithFakes(clock);
    await windows.createPopover();
    const popover = created[0]!;
    const tray = { x: 1000, y: 0, width: 24, height: 24 };
    windows.togglePopover(tray);
    clock.now = 5_000;
    popover.emit('blur');
    windows.togglePopover(tray);
    expect(popover.visible).toBe(false);
    clock.now = 5_400;
    windows.togglePopover(tray);
    expect(popover.visible).toBe(true);
  });

  it('showPopover (a notification clicked) shows it, and leaves it shown', async () => {
    const { windows, created } = windowsWithFakes();
    await windows.createPopover();
    windows.showPopover({ x: 1000, y: 0, width: 24, height: 24 });
    windows.showPopover({ x: 1000, y: 0, width: 24, height: 24 });
    expect(created[0]!.visible).toBe(true);
  });

  it('opens one block dialog per event, and forgets it when closed', async () => {
    const { windows, created } = windowsWithFakes();
    await windows.showBlock(7, 'tool');
    await windows.showBlock(7, 'tool');
    expect(created).toHaveLength(1);
    created[0]!.emit('ready-to-show');
    expect(created[0]!.visible).toBe(true);
    expect(windows.isOwnWebContents(created[0]!.webContents.id)).toBe(true);
    windows.closeBlock(7);
    expect(created[0]!.destroyed).toBe(true);
    expect(windows.openBlocks).toEqual([]);
    expect(windows.isOwnWebContents(created[0]!.webContents.id)).toBe(false);
  });

  it('refuses navigation and new windows; only https goes to the browser', () => {
    const window = new FakeWindow({} as WindowOptions);
    const opened: string[] = [];
    hardenWindow(window, (url) => opened.push(url));
    let prevented = false;
    window.webContents.navigate?.(
      { preventDefault: () => (prevented = true) },
      'https://evil.example/',
    );
    expect(prevented).toBe(true);
    for (const url of [
      'https://helpdesk.example/x',
      'http://helpdesk.example/x',
      'file:///etc/passwd',
    ]) {
      expect(window.webContents.open?.({ url })).toEqual({ action: 'deny' });
    }
    expect(opened).toEqual(['https://helpdesk.example/x']);
  });
});
