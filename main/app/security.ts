// Electron-free checks the menu-bar role applies to every window and every IPC sender.

/** Only https URLs that parse are ever handed to the operating system to open. */
export function isSafeExternalUrl(candidate: string): boolean {
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return false;
  }
  return url.protocol === 'https:' && url.hostname.length > 0 && !url.username && !url.password;
}

/**
 * An IPC sender is trusted only when its frame shows the app's own renderer: a file:// page
 * inside the app's renderer folder, or, in development, the exact dev-server origin.
 */
export function isTrustedRendererUrl(
  senderUrl: string,
  rendererRoot: { fileDir?: string; devOrigin?: string },
): boolean {
  let url: URL;
  try {
    url = new URL(senderUrl);
  } catch {
    return false;
  }
  if (rendererRoot.devOrigin && url.origin === rendererRoot.devOrigin) return true;
  if (url.protocol !== 'file:' || !rendererRoot.fileDir) return false;
  const dir = rendererRoot.fileDir.endsWith('/')
    ? rendererRoot.fileDir
    : `${rendererRoot.fileDir}/`;
  return decodeURIComponent(url.pathname).startsWith(dir);
}
