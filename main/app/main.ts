// The menu-bar role: the popover window and the IPC it answers. Kept thin; the logic it uses
// lives in Electron-free modules beside it.
import { join } from 'node:path';
import { app, BrowserWindow, ipcMain, shell, type IpcMainInvokeEvent } from 'electron';
import { isSafeExternalUrl, isTrustedRendererUrl } from './security';
import type { AgentStatus } from '../../common/status';

const rendererDir = join(import.meta.dirname, '../renderer');
const devOrigin = process.env.ELECTRON_RENDERER_URL
  ? new URL(process.env.ELECTRON_RENDERER_URL).origin
  : undefined;

function assertTrustedSender(event: IpcMainInvokeEvent): void {
  const url = event.senderFrame?.url ?? '';
  if (!isTrustedRendererUrl(url, { fileDir: rendererDir, ...(devOrigin ? { devOrigin } : {}) })) {
    throw new Error(`ipc: refused a call from an untrusted frame (${url || 'unknown'})`);
  }
}

function createPopover(): BrowserWindow {
  const window = new BrowserWindow({
    width: 360,
    height: 480,
    show: false,
    frame: false,
    resizable: false,
    webPreferences: {
      preload: join(import.meta.dirname, '../preload/index.cjs'),
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      webviewTag: false,
    },
  });
  window.webContents.on('will-navigate', (event) => event.preventDefault());
  window.webContents.setWindowOpenHandler(({ url }) => {
    if (isSafeExternalUrl(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  if (process.env.ELECTRON_RENDERER_URL) void window.loadURL(process.env.ELECTRON_RENDERER_URL);
  else void window.loadFile(join(rendererDir, 'index.html'));
  window.once('ready-to-show', () => window.show());
  return window;
}

app.enableSandbox();
if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  ipcMain.handle('gatehouse:get-status', (event): AgentStatus => {
    assertTrustedSender(event);
    return { reachable: false };
  });
  void app.whenReady().then(() => createPopover());
  app.on('window-all-closed', () => app.quit());
}
