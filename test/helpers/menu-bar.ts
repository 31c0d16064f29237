// The menu-bar app's main side (MenuBarApp) run under Node with Electron replaced: each window is
// a Chromium page showing the built renderer, the preload's API is supplied with exposeBinding and
// answered by the real IPC handlers, and tray and notifications are recorded.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { CHANNELS, STATE_CHANNEL } from '../../common/ipc';
import type { Protection } from '../../common/status';
import type { Agent } from '../../main/agent/agent';
import { ControlClient } from '../../main/agent/control/client';
import { ControlServer } from '../../main/agent/control/server';
import type { SyncScheduler } from '../../main/agent/sync/scheduler';
import type { ControlConnection } from '../../main/app/agent-connection';
import type { InvokeEventLike, IpcMainLike } from '../../main/app/ipc';
import { MenuBarApp } from '../../main/app/menubar';
import type { Notice } from '../../main/app/model';
import type { AppSettings } from '../../main/app/settings';
import { SilenceStore } from '../../main/app/silences';
import type { Rectangle, TrayLike } from '../../main/app/tray';
import type { WindowLike, WindowOptions } from '../../main/app/windows';
import { startSyncingAgent } from './agent';
import { launchChromium } from './chromium';
import { tempDir } from './files';
import { startTestServer, type TestServer } from './server';
import { serveFolder } from './static-server';

export const rendererDir = join(import.meta.dirname, '../../out/renderer');

export function assertRendererBuilt(): void {
  if (!existsSync(join(rendererDir, 'index.html'))) {
    throw new Error(`${rendererDir} has no build: run \`npm run build\` first`);
  }
}

/** What a describe block of renderer browser tests shares, ready once its beforeAll has run. */
export interface RendererInChromium {
  readonly browser: Awaited<ReturnType<typeof launchChromium>>;
  /** The built renderer, served over HTTP on 127.0.0.1. */
  readonly site: Awaited<ReturnType<typeof serveFolder>>;
}

/**
 * The built renderer served as a site and Chromium to open it: started before the describe
 * block's tests (after checking the build is there) and closed after them.
 */
export function useRendererInChromium(): RendererInChromium {
  let started: RendererInChromium | undefined;
  const closers: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    assertRendererBuilt();
    const site = await serveFolder(rendererDir);
    closers.push(() => site.close());
    const browser = await launchChromium();
    closers.push(() => browser.close());
    started = { browser, site };
  });
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
  });
  const ready = () => {
    if (!started) throw new Error('the renderer is used before its beforeAll ran');
    return started;
  };
  return {
    get browser() {
      return ready().browser;
    },
    get site() {
      return ready().site;
    },
  };
}

type Handler = (event: InvokeEventLike, ...args: unknown[]) => unknown;

export class FakeIpcMain implements IpcMainLike {
  readonly handlers = new Map<string, Handler>();
  handle(channel: string, listener: Handler): void {
    if (this.handlers.has(channel)) throw new Error(`ipc: a second handler for ${channel}`);
    this.handlers.set(channel, listener);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
  invoke(senderId: number, url: string, channel: string, args: unknown[]): Promise<unknown> {
    const handler = this.handlers.get(channel);
    if (!handler) return Promise.reject(new Error(`No handler registered for '${channel}'`));
    return Promise.resolve().then(() =>
      handler({ sender: { id: senderId }, senderFrame: { url } }, ...args),
    );
  }
}

/**
 * What the preload does, for a page outside Electron: window.gatehouse with one function per
 * call, each forwarded over the exposed binding; state pushes arrive through __gatehouseDeliver.
 */
export async function exposeGatehouseApi(
  page: Page,
  invoke: (url: string, channel: string, args: unknown[]) => Promise<unknown>,
): Promise<void> {
  await page.exposeBinding('__gatehouseInvoke', (source, channel: string, args: unknown[]) =>
    invoke(source.frame.url(), channel, args),
  );
  // A string, not a function: a function's source may carry the transpiler's helpers with it.
  await page.addInitScript({
    content: `(() => {
      const channels = ${JSON.stringify(CHANNELS)};
      const stateChannel = ${JSON.stringify(STATE_CHANNEL)};
      const listeners = new Set();
      window.__gatehouseDeliver = (channel, payload) => {
        if (channel === stateChannel) for (const listener of listeners) listener(payload);
      };
      const api = {
        onState: (listener) => {
          listeners.add(listener);
          return () => listeners.delete(listener);
        },
      };
      for (const [name, channel] of Object.entries(channels)) {
        api[name] = (...args) => window.__gatehouseInvoke(channel, args);
      }
      window.gatehouse = Object.freeze(api);
    })();`,
  });
}

let nextWebContentsId = 1;

/** A BrowserWindow whose page is a Chromium tab. */
export class PageWindow implements WindowLike {
  readonly options: WindowOptions;
  readonly page: Promise<Page>;
  visible = false;
  destroyed = false;
  /** Uncaught errors and console errors (a CSP violation among them) of the page. */
  readonly errors: string[] = [];
  position: { x: number; y: number } | undefined;
  readonly #listeners = new Map<string, (() => void)[]>();
  readonly webContents: WindowLike['webContents'];

  constructor(context: BrowserContext, ipc: FakeIpcMain, options: WindowOptions) {
    this.options = options;
    const id = nextWebContentsId++;
    this.page = context.newPage().then(async (page) => {
      await page.setViewportSize({ width: options.width, height: options.height });
      page.on('pageerror', (error) => this.errors.push(error.message));
      page.on('console', (message) => {
        if (message.type() === 'error') this.errors.push(message.text());
      });
      await exposeGatehouseApi(page, (url, channel, args) => ipc.invoke(id, url, channel, args));
      return page;
    });
    this.webContents = {
      id,
      send: (channel, ...args) => {
        void this.page.then((page) =>
          page
            .evaluate(
              ([channel, payload]) =>
                (
                  window as unknown as { __gatehouseDeliver?(c: unknown, p: unknown): void }
                ).__gatehouseDeliver?.(channel, payload),
              [channel, args[0]] as const,
            )
            .catch(() => {
              // A page that is loading or closed misses a push; it asks for the state on load.
            }),
        );
      },
      on: () => this.webContents,
      setWindowOpenHandler: () => {},
    };
  }

  async loadFile(): Promise<void> {
    throw new Error('PageWindow loads URLs only: give MenuBarApp a { url } renderer');
  }
  async loadURL(url: string): Promise<void> {
    const page = await this.page;
    await page.goto(url);
    this.#emit('ready-to-show');
  }
  show(): void {
    this.visible = true;
  }
  hide(): void {
    this.visible = false;
  }
  focus(): void {}
  close(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    void this.page.then((page) => page.close());
    this.#emit('closed');
  }
  isVisible(): boolean {
    return this.visible;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  setPosition(x: number, y: number): void {
    this.position = { x, y };
  }
  once(event: string, listener: () => void): this {
    const wrapped = () => {
      this.#off(event, wrapped);
      listener();
    };
    return this.on(event, wrapped);
  }
  on(event: string, listener: () => void): this {
    this.#listeners.set(event, [...(this.#listeners.get(event) ?? []), listener]);
    return this;
  }
  #off(event: string, listener: () => void): void {
    this.#listeners.set(
      event,
      (this.#listeners.get(event) ?? []).filter((l) => l !== listener),
    );
  }
  #emit(event: string): void {
    for (const listener of this.#listeners.get(event) ?? []) listener();
  }
}

export class RecordingTray implements TrayLike<{ protection: Protection; pending: boolean }> {
  image: { protection: Protection; pending: boolean } | undefined;
  tooltip = '';
  title = '';
  setImage(image: { protection: Protection; pending: boolean }): void {
    this.image = image;
  }
  setToolTip(text: string): void {
    this.tooltip = text;
  }
  setTitle(title: string): void {
    this.title = title;
  }
  on(): this {
    return this;
  }
  getBounds(): Rectangle {
    return { x: 1800, y: 0, width: 24, height: 24 };
  }
  destroy(): void {}
}

export interface MenuBarHarness {
  readonly app: MenuBarApp<{ protection: Protection; pending: boolean }>;
  readonly ipc: FakeIpcMain;
  readonly tray: RecordingTray;
  readonly windows: PageWindow[];
  readonly notices: Notice[];
  readonly opened: string[];
  /** What the app reported (the service going away, a dialog that could not open). */
  readonly logs: string[];
  popover(): Promise<Page>;
  /** The page of the block dialog for an event, once the app has opened it. */
  blockDialog(eventId: number): Promise<Page | undefined>;
  stop(): void;
}

/** Starts MenuBarApp against a control socket, its windows in Chromium pages at `siteUrl`. */
export async function startMenuBar(options: {
  context: BrowserContext;
  siteUrl: string;
  connect(): Promise<ControlConnection>;
  settings?: Partial<AppSettings>;
}): Promise<MenuBarHarness> {
  const ipc = new FakeIpcMain();
  const tray = new RecordingTray();
  const windows: PageWindow[] = [];
  const notices: Notice[] = [];
  const opened: string[] = [];
  const logs: string[] = [];
  let silences = '{}';
  const app = new MenuBarApp<{ protection: Protection; pending: boolean }>({
    tray: {
      createImage: (protection, pending) => ({ protection, pending }),
      createTray: () => tray,
    },
    windows: {
      createWindow: (windowOptions) => {
        const window = new PageWindow(options.context, ipc, windowOptions);
        windows.push(window);
        return window;
      },
      openExternal: (url) => opened.push(url),
      workAreaAt: () => ({ x: 0, y: 0, width: 1920, height: 1080 }),
      renderer: { url: options.siteUrl },
      preload: '/unused/preload.cjs',
    },
    ipcMain: ipc,
    notify: (notice) => notices.push(notice),
    connect: options.connect,
    settings: { socketPath: '/unused', enableSilentMode: false, ...options.settings },
    silences: new SilenceStore({ read: () => silences, write: (text) => (silences = text) }),
    hostname: 'ada-laptop.example',
    appVersion: '0.1.0-test',
    trustedRenderer: { devOrigin: new URL(options.siteUrl).origin },
    quit: () => {},
    log: (message) => logs.push(message),
  });
  await app.start();
  const popoverWindow = windows.find((window) => window.options.kind === 'popover');
  if (!popoverWindow) throw new Error('MenuBarApp did not create its popover window');
  return {
    app,
    ipc,
    tray,
    windows,
    notices,
    opened,
    logs,
    popover: () => popoverWindow.page,
    async blockDialog(eventId) {
      for (const window of windows) {
        if (window.options.kind !== 'block' || window.destroyed) continue;
        const page = await window.page;
        if (page.url().endsWith(`#block/${eventId}`)) return page;
      }
      return undefined;
    },
    stop: () => app.stop(),
  };
}

export const consoleDir = join(import.meta.dirname, '../../out/console');
/** The user the control socket believes is calling (SO_PEERCRED replaced). */
export const ADA = { pid: 4242, uid: 1000, gid: 1000 } as const;

/**
 * A real backend (SQLite, the helpdesk console, a helpdesk user grace) and a real agent (fake exec
 * source, LOCKDOWN) syncing with it, serving its control socket to "ada" (uid 1000).
 */
export async function startAgentStack(settings: Record<string, unknown> = {}): Promise<{
  server: TestServer;
  agent: Agent;
  scheduler: SyncScheduler;
  socketPath: string;
  dir: string;
  /** Closes the control socket, then opens it again a moment later. */
  restartControl(): Promise<void>;
  stop(): Promise<void>;
}> {
  if (!existsSync(join(consoleDir, 'index.html'))) {
    throw new Error(`${consoleDir} has no build: run \`npm run build\` first`);
  }
  const server = await startTestServer('sqlite', { enrollmentSecret: 'team-secret', consoleDir });
  await server.repos.users.create('grace', 'helpdesk-password-1', 'helpdesk', 'test');
  const dir = tempDir('menu-bar');
  const { agent, scheduler, stop } = await startSyncingAgent(dir.dir, server.base, {
    MachineID: 'ada-laptop',
    MachineOwner: 'ada',
    ...settings,
  });
  const socketPath = join(dir.dir, 'gatehouse.sock');
  const serveControl = async () => {
    const server = new ControlServer(agent, socketPath, () => ADA, {
      requestSync: () => void scheduler.syncNow(),
      sendReply: (requestId, body) => scheduler.reply(requestId, body),
    });
    await server.listen();
    return server;
  };
  let control = await serveControl();
  return {
    server,
    agent,
    scheduler,
    socketPath,
    dir: dir.dir,
    async restartControl() {
      await control.close();
      setTimeout(() => {
        void serveControl().then((server) => (control = server));
      }, 300);
    },
    async stop() {
      await control.close();
      stop();
      await server.close();
      dir.remove();
    },
  };
}

export type AgentStack = Awaited<ReturnType<typeof startAgentStack>>;

/**
 * The agent stack, and the menu-bar app with its windows in the renderer's Chromium, connected to
 * the stack's control socket: started before the describe block's tests, stopped after them.
 */
export function useMenuBarOnAgent(
  renderer: RendererInChromium,
  settings?: Partial<AppSettings>,
): { readonly stack: AgentStack; readonly menuBar: MenuBarHarness } {
  let stack: AgentStack | undefined;
  let menuBar: MenuBarHarness | undefined;
  beforeAll(async () => {
    const { socketPath } = (stack = await startAgentStack());
    menuBar = await startMenuBar({
      context: renderer.browser.context,
      siteUrl: renderer.site.url,
      connect: () => ControlClient.connect(socketPath),
      settings,
    });
  });
  afterAll(async () => {
    menuBar?.stop();
    await stack?.stop();
  });
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the menu bar is used before its beforeAll ran');
    return value;
  };
  return {
    get stack() {
      return ready(stack);
    },
    get menuBar() {
      return ready(menuBar);
    },
  };
}
