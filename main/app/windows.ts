// The popover and the block dialogs: secure options, hardening, placement under the tray icon.
// Electron's BrowserWindow is injected, so all of this runs under plain Node in tests.
import { isSafeExternalUrl } from './security';
import type { Rectangle } from './tray';

export interface Size {
  readonly width: number;
  readonly height: number;
}

export const POPOVER_SIZE: Size = { width: 360, height: 540 };
export const BLOCK_DIALOG_SIZE: Size = { width: 520, height: 660 };
/** A tray click this soon after the popover lost the focus is the click that took it. */
const BLUR_CLICK_MS = 300;
/** Space between the tray icon and the popover. */
const GAP = 4;

/**
 * Where the popover goes: centred under the tray icon (above it when the panel is at the bottom
 * of the screen), kept inside the work area.
 */
export function popoverPosition(
  tray: Rectangle,
  size: Size,
  workArea: Rectangle,
): { x: number; y: number } {
  const clamp = (value: number, min: number, max: number) => Math.max(min, Math.min(value, max));
  const centreX = tray.x + tray.width / 2;
  const x = clamp(
    Math.round(centreX - size.width / 2),
    workArea.x,
    workArea.x + workArea.width - size.width,
  );
  const trayBelowMiddle = tray.y + tray.height / 2 > workArea.y + workArea.height / 2;
  const wanted = trayBelowMiddle ? tray.y - size.height - GAP : tray.y + tray.height + GAP;
  const y = clamp(Math.round(wanted), workArea.y, workArea.y + workArea.height - size.height);
  return { x, y };
}

/** Every window: sandboxed, isolated, no Node, no webview, no remote content. */
export function secureWebPreferences(preload: string) {
  return {
    preload,
    sandbox: true,
    contextIsolation: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webviewTag: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    spellcheck: false,
  } as const;
}

export type WindowKind = 'popover' | 'block';

export interface WindowOptions {
  readonly kind: WindowKind;
  readonly width: number;
  readonly height: number;
  readonly title: string;
  readonly show: false;
  readonly frame: boolean;
  readonly resizable: boolean;
  readonly skipTaskbar: boolean;
  readonly alwaysOnTop: boolean;
  readonly webPreferences: ReturnType<typeof secureWebPreferences>;
}

/** The part of Electron's WebContents this app uses. */
export interface WebContentsLike {
  readonly id: number;
  send(channel: string, ...args: unknown[]): void;
  on(
    event: 'will-navigate',
    listener: (event: { preventDefault(): void }, url: string) => void,
  ): unknown;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
}

/** The part of Electron's BrowserWindow this app uses. */
export interface WindowLike {
  readonly webContents: WebContentsLike;
  loadFile(path: string, options: { hash: string }): Promise<void>;
  loadURL(url: string): Promise<void>;
  show(): void;
  hide(): void;
  focus(): void;
  close(): void;
  isVisible(): boolean;
  isDestroyed(): boolean;
  setPosition(x: number, y: number): void;
  once(event: 'ready-to-show', listener: () => void): unknown;
  on(event: 'blur' | 'closed', listener: () => void): unknown;
}

/** Where the renderer comes from: the packaged file, or the dev server in development. */
export type RendererSource = { readonly file: string } | { readonly url: string };

/** No navigation away from the app's page, no new windows; https links go to the browser. */
export function hardenWindow(window: WindowLike, openExternal: (url: string) => void): void {
  window.webContents.on('will-navigate', (event) => event.preventDefault());
  window.webContents.setWindowOpenHandler(({ url }) => {
    if (isSafeExternalUrl(url)) openExternal(url);
    return { action: 'deny' };
  });
}

export function loadRenderer(
  window: WindowLike,
  source: RendererSource,
  hash: string,
): Promise<void> {
  return 'file' in source
    ? window.loadFile(source.file, { hash })
    : window.loadURL(`${source.url}#${hash}`);
}

export interface WindowFactories {
  createWindow(options: WindowOptions): WindowLike;
  openExternal(url: string): void;
  /** The work area of the display that holds this point. */
  workAreaAt(point: { x: number; y: number }): Rectangle;
  readonly renderer: RendererSource;
  readonly preload: string;
}

/** The popover (one, created on start, hidden on blur) and one block dialog per event. */
export class AppWindows {
  readonly #factories: WindowFactories;
  readonly #now: () => number;
  #popover: WindowLike | undefined;
  #hiddenOnBlurAt = -Infinity;
  readonly #blocks = new Map<number, WindowLike>();

  constructor(factories: WindowFactories, now: () => number = Date.now) {
    this.#factories = factories;
    this.#now = now;
  }

  /** The webContents ids of every live window: the only senders IPC answers. */
  isOwnWebContents(id: number): boolean {
    if (this.#popover && !this.#popover.isDestroyed() && this.#popover.webContents.id === id)
      return true;
    for (const window of this.#blocks.values()) {
      if (!window.isDestroyed() && window.webContents.id === id) return true;
    }
    return false;
  }

  /** Every live window's webContents, for pushing state. */
  contents(): WebContentsLike[] {
    const all = [this.#popover, ...this.#blocks.values()].filter(
      (window): window is WindowLike => window !== undefined && !window.isDestroyed(),
    );
    return all.map((window) => window.webContents);
  }

  #create(kind: WindowKind, size: Size, title: string): WindowLike {
    const window = this.#factories.createWindow({
      kind,
      ...size,
      title,
      show: false,
      frame: kind === 'block',
      resizable: false,
      skipTaskbar: kind === 'popover',
      alwaysOnTop: true,
      webPreferences: secureWebPreferences(this.#factories.preload),
    });
    hardenWindow(window, (url) => this.#factories.openExternal(url));
    return window;
  }

  async createPopover(): Promise<void> {
    const window = this.#create('popover', POPOVER_SIZE, 'Gatehouse');
    window.on('blur', () => {
      if (!window.isVisible()) return;
      this.#hiddenOnBlurAt = this.#now();
      window.hide();
    });
    window.on('closed', () => {
      if (this.#popover === window) this.#popover = undefined;
    });
    this.#popover = window;
    await loadRenderer(window, this.#factories.renderer, 'popover');
  }

  /** Shows the popover under the tray icon, or hides it when it is showing. */
  togglePopover(trayBounds: Rectangle): void {
    const window = this.#popover;
    if (!window || window.isDestroyed()) return;
    if (window.isVisible()) {
      window.hide();
      return;
    }
    // A click on the tray icon first takes the focus from the popover: that blur already closed
    // it, and this click must not open it again.
    if (this.#now() - this.#hiddenOnBlurAt < BLUR_CLICK_MS) return;
    this.showPopover(trayBounds);
  }

  /** Shows the popover under the tray icon (a notification's click, a second launch). */
  showPopover(trayBounds: Rectangle): void {
    const window = this.#popover;
    if (!window || window.isDestroyed()) return;
    const workArea = this.#factories.workAreaAt({ x: trayBounds.x, y: trayBounds.y });
    const { x, y } = popoverPosition(trayBounds, POPOVER_SIZE, workArea);
    window.setPosition(x, y);
    window.show();
    window.focus();
  }

  hidePopover(): void {
    if (this.#popover && !this.#popover.isDestroyed()) this.#popover.hide();
  }

  /** Opens (or brings forward) the block dialog for one event. */
  async showBlock(eventId: number, fileName: string): Promise<void> {
    const open = this.#blocks.get(eventId);
    if (open && !open.isDestroyed()) {
      open.show();
      open.focus();
      return;
    }
    const window = this.#create('block', BLOCK_DIALOG_SIZE, `Gatehouse blocked ${fileName}`);
    this.#blocks.set(eventId, window);
    window.on('closed', () => {
      if (this.#blocks.get(eventId) === window) this.#blocks.delete(eventId);
    });
    window.once('ready-to-show', () => {
      window.show();
      window.focus();
    });
    await loadRenderer(window, this.#factories.renderer, `block/${eventId}`);
  }

  closeBlock(eventId: number): void {
    const window = this.#blocks.get(eventId);
    this.#blocks.delete(eventId);
    if (window && !window.isDestroyed()) window.close();
  }

  get openBlocks(): number[] {
    return [...this.#blocks.keys()];
  }
}
