// What the menu bar reads from the service's configuration file (/etc/gatehouse/config.json,
// Santa's key names): where the socket is, the block dialog's Open button, silent mode, and the
// update feed. Each key is checked by the table the service uses (common/config.ts). The file
// may be unreadable to the user; then the defaults apply, as they do for a bad value.
import { DEFAULT_CONFIG_PATH, readConfigKeys, type ConfigValues } from '../../common/config';

export type AppSettings = ConfigValues<'app'>;

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
  // The service refuses to start on these and on every other key; here only the app's own
  // keys are read, and a bad one is a warning: the menu bar still shows what it can.
  const { values, problems } = readConfigKeys(raw, {
    reader: 'app',
    label: 'settings',
    path,
    wholeFile: false,
  });
  return { warnings: [...warnings, ...problems], settings: values };
}
