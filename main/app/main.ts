// The menu-bar role in Electron: real Tray, BrowserWindow, Notification and ipcMain handed to
// MenuBarApp, which holds the logic. Nothing here is more than wiring.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { dirname, join } from 'node:path';
import {
  app,
  BrowserWindow,
  ipcMain,
  nativeImage,
  Notification,
  screen,
  session,
  shell,
  Tray,
} from 'electron';
import electronUpdater from 'electron-updater';
import { PRODUCT_VERSION } from '../../common/version';
import { ControlClient } from '../agent/control/client';
import { enableLaunchAtLogin } from './login';
import { MenuBarApp } from './menubar';
import { isSafeExternalUrl } from './security';
import { readAppSettings } from './settings';
import { SilenceStore } from './silences';
import { trayIconPng } from './tray-icon';
import { startUpdater } from './updater';
import type { RendererSource } from './windows';

const rendererDir = join(import.meta.dirname, '../renderer');
const devUrl = process.env.ELECTRON_RENDERER_URL;
const renderer: RendererSource = devUrl
  ? { url: devUrl }
  : { file: join(rendererDir, 'index.html') };
const log = (message: string) => console.error(`gatehouse: ${message}`);

function openExternal(url: string): void {
  if (isSafeExternalUrl(url)) void shell.openExternal(url);
}

app.enableSandbox();
if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  // Nothing but the app's own pages, in its own windows.
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.on('will-navigate', (event) => event.preventDefault());
    contents.setWindowOpenHandler(({ url }) => {
      openExternal(url);
      return { action: 'deny' };
    });
  });

  const { settings, warnings } = readAppSettings((path) => readFileSync(path, 'utf8'));
  for (const warning of warnings) log(warning);
  const silencesPath = join(app.getPath('userData'), 'silenced-notifications.json');
  const silences = new SilenceStore({
    read: () => {
      try {
        return readFileSync(silencesPath, 'utf8');
      } catch {
        return undefined;
      }
    },
    write: (text) => {
      mkdirSync(dirname(silencesPath), { recursive: true });
      writeFileSync(silencesPath, text, { mode: 0o600 });
    },
  });

  const menuBar = new MenuBarApp<Electron.NativeImage>({
    tray: {
      createImage: (protection, pending) =>
        nativeImage.createFromBuffer(trayIconPng(protection, pending, 32), { scaleFactor: 2 }),
      createTray: (image) => new Tray(image),
    },
    windows: {
      // `kind` is the app's own field; BrowserWindow ignores it.
      createWindow: (options) => new BrowserWindow(options),
      openExternal,
      workAreaAt: (point) => screen.getDisplayNearestPoint(point).workArea,
      renderer,
      preload: join(import.meta.dirname, '../preload/index.cjs'),
    },
    ipcMain,
    notify: (notice, onClick) => {
      if (!Notification.isSupported()) return;
      const notification = new Notification({ title: notice.title, body: notice.body });
      notification.on('click', onClick);
      notification.show();
    },
    connect: () => ControlClient.connect(settings.socketPath),
    settings,
    silences,
    hostname: hostname(),
    appVersion: PRODUCT_VERSION,
    trustedRenderer: devUrl ? { devOrigin: new URL(devUrl).origin } : { fileDir: rendererDir },
    quit: () => app.quit(),
  });

  app.on('second-instance', () => menuBar.showPopover());
  app.on('window-all-closed', () => {
    // A menu-bar app lives on without windows.
  });
  void app.whenReady().then(async () => {
    app.dock?.hide();
    session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) =>
      callback(false),
    );
    await menuBar.start();
    if (app.isPackaged) {
      try {
        enableLaunchAtLogin({
          platform: process.platform,
          execPath: process.execPath,
          configHome: process.env.XDG_CONFIG_HOME || join(homedir(), '.config'),
          setLoginItemSettings: (value) => app.setLoginItemSettings(value),
          writeFile: (path, text) => {
            mkdirSync(dirname(path), { recursive: true });
            writeFileSync(path, text);
          },
        });
      } catch (error) {
        log(`launch at login: ${(error as Error).message}`);
      }
      startUpdater(electronUpdater.autoUpdater, settings.updateFeedUrl, log);
    }
  });
  app.on('before-quit', () => menuBar.stop());
}
