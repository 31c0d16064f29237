// Launch at login. macOS (and Windows) through Electron's login items; Linux desktops through an
// XDG autostart entry in ~/.config/autostart.
import { join } from 'node:path';

/** The XDG autostart entry that starts the menu-bar app in the user's session. */
export function autostartEntry(execPath: string): string {
  const quoted = /[\s"'\\$`]/.test(execPath)
    ? `"${execPath.replace(/(["\\$`])/g, '\\$1')}"`
    : execPath;
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Name=Gatehouse',
    'Comment=Shows whether this machine is protected, and lets you ask for approval of blocked programs',
    `Exec=${quoted}`,
    'X-GNOME-Autostart-enabled=true',
    'NoDisplay=true',
    '',
  ].join('\n');
}

export interface LoginItemSeams {
  readonly platform: NodeJS.Platform;
  readonly execPath: string;
  readonly configHome: string;
  setLoginItemSettings(settings: { openAtLogin: boolean }): void;
  writeFile(path: string, text: string): void;
}

/** Makes the app start at login; returns where it was registered. */
export function enableLaunchAtLogin(seams: LoginItemSeams): string {
  if (seams.platform === 'linux') {
    const path = join(seams.configHome, 'autostart', 'gatehouse.desktop');
    seams.writeFile(path, autostartEntry(seams.execPath));
    return path;
  }
  seams.setLoginItemSettings({ openAtLogin: true });
  return 'login items';
}
