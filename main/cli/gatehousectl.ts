// gatehousectl: the command line for the service. Exit codes: 0 ok, 1 failure, 2 usage error.
import { PRODUCT_VERSION } from '../../common/version';
import { nativeAddon } from '../../native/index';

const USAGE = `usage: gatehousectl <command> [--json]

commands:
  version   print the versions of gatehousectl and the native addon`;

export function runCtl(argv: readonly string[], out: (line: string) => void = console.log): number {
  const json = argv.includes('--json');
  const [command, ...rest] = argv.filter((arg) => arg !== '--json');
  if (command === undefined || command === 'help' || command === '--help') {
    out(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === 'version' && rest.length === 0) {
    const addon = nativeAddon();
    const versions = {
      gatehousectl: PRODUCT_VERSION,
      native: addon.version(),
      backend: addon.backend(),
    };
    out(
      json
        ? JSON.stringify(versions)
        : `gatehousectl ${versions.gatehousectl}\nnative addon ${versions.native} (${versions.backend})`,
    );
    return 0;
  }
  out(`gatehousectl: unknown command "${[command, ...rest].join(' ')}"\n\n${USAGE}`);
  return 2;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    process.exitCode = runCtl(process.argv.slice(2));
  } catch (error) {
    console.error(`gatehousectl: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
