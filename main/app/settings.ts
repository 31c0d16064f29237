// What the menu bar reads from the service's configuration file (/etc/gatehouse/config.json,
// Santa's key names): where the socket is, the block dialog's Open button, silent mode, and the
// update feed. The file may be unreadable to the user; then the defaults apply.
import { DEFAULT_CONFIG_PATH } from '../agent/config/config';
import { DEFAULT_SOCKET_PATH } from '../agent/control/client';

export interface AppSettings {
  readonly socketPath: string;
  readonly eventDetailUrl?: string;
  readonly eventDetailText?: string;
  readonly enableSilentMode: boolean;
  readonly machineId?: string;
  /** A generic electron-updater feed (UpdateFeedURL). */
  readonly updateFeedUrl?: string;
}

export function readAppSettings(
  readFile: (path: string) => string,
  path: string = DEFAULT_CONFIG_PATH,
): { settings: AppSettings; warnings: string[] } {
  const warnings: string[] = [];
  let raw: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(readFile(path));
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      raw = parsed as Record<string, unknown>;
    } else {
      warnings.push(`settings: ${path} does not hold a JSON object; using the defaults`);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') {
      warnings.push(
        `settings: cannot read ${path} (${code ?? (error as Error).message}); using the defaults`,
      );
    }
  }
  const text = (key: string, max: number): string | undefined => {
    const value = raw[key];
    if (value === undefined) return undefined;
    if (typeof value === 'string' && value.length > 0 && value.length <= max) return value;
    warnings.push(
      `settings: ${key} must be a string of 1 to ${max} characters, got ${JSON.stringify(value)} (${path})`,
    );
    return undefined;
  };
  const httpsUrl = (key: string): string | undefined => {
    const value = text(key, 4096);
    if (value === undefined || value === 'null') return undefined;
    // The placeholders make the template itself an invalid URL only in their values.
    try {
      if (new URL(value.replace(/%[a-z_]+%/g, 'x')).protocol === 'https:') return value;
    } catch {
      // reported below
    }
    warnings.push(`settings: ${key} must be an https URL, got ${JSON.stringify(value)} (${path})`);
    return undefined;
  };
  const socketPath = text('SocketPath', 1024);
  const eventDetailUrl = httpsUrl('EventDetailURL');
  const eventDetailText = text('EventDetailText', 64);
  const machineId = text('MachineID', 256);
  const updateFeedUrl = httpsUrl('UpdateFeedURL');
  return {
    warnings,
    settings: {
      socketPath: socketPath?.startsWith('/') ? socketPath : DEFAULT_SOCKET_PATH,
      ...(eventDetailUrl ? { eventDetailUrl } : {}),
      ...(eventDetailText ? { eventDetailText } : {}),
      enableSilentMode: raw.EnableSilentMode === true,
      ...(machineId ? { machineId } : {}),
      ...(updateFeedUrl ? { updateFeedUrl } : {}),
    },
  };
}
