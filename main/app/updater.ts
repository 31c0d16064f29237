// Updates from a generic feed (UpdateFeedURL in the configuration): checked at start and every
// six hours, downloaded in the background, installed when the app quits.

/** The part of electron-updater's autoUpdater this app uses. */
export interface UpdaterLike {
  autoDownload: boolean;
  autoInstallOnAppQuit: boolean;
  setFeedURL(options: { provider: 'generic'; url: string }): void;
  checkForUpdates(): Promise<unknown>;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

export const UPDATE_CHECK_INTERVAL_MS = 6 * 60 * 60 * 1000;

/** Wires the updater to the feed; returns the function that stops the periodic check. */
export function startUpdater(
  updater: UpdaterLike,
  feedUrl: string | undefined,
  log: (message: string) => void,
  timers: {
    setInterval(callback: () => void, ms: number): unknown;
    clearInterval(handle: unknown): void;
  } = {
    setInterval: (callback, ms) => setInterval(callback, ms).unref(),
    clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
  },
): () => void {
  if (!feedUrl) {
    log('updates: UpdateFeedURL is not set in the configuration; not checking for updates');
    return () => {};
  }
  updater.autoDownload = true;
  updater.autoInstallOnAppQuit = true;
  updater.setFeedURL({ provider: 'generic', url: feedUrl });
  updater.on('error', (error) => log(`updates: ${error.message}`));
  const check = () =>
    void updater.checkForUpdates().catch((error: Error) => log(`updates: ${error.message}`));
  check();
  const handle = timers.setInterval(check, UPDATE_CHECK_INTERVAL_MS);
  return () => timers.clearInterval(handle);
}
