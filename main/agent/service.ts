// `gatehouse --service`: the root role that hosts the exec monitor and owns rules and events.
import { nativeAddon } from '../../native/index';
import { PRODUCT_VERSION } from '../../common/version';

export async function runService(argv: readonly string[]): Promise<number> {
  const unknown = argv.filter((arg) => arg !== '--service');
  if (unknown.length > 0) {
    console.error(`gatehouse --service: unknown argument ${unknown[0]}; run without arguments`);
    return 2;
  }
  const addon = nativeAddon();
  console.log(
    `gatehouse service ${PRODUCT_VERSION} (native ${addon.version()}, ${addon.backend()} backend): ` +
      'no exec monitor is available in this version; nothing to run.',
  );
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await runService(process.argv.slice(2));
}
