import { PRODUCT_VERSION } from '../../../common/version';
import { nativeAddon } from '../../../native/index';
import { EXIT, type Command } from '../command';

export const version: Command = {
  name: 'version',
  synopsis: 'version',
  summary: 'versions of gatehousectl and the native addon',
  async run(_args, { print }) {
    const addon = nativeAddon();
    const versions = {
      gatehousectl: PRODUCT_VERSION,
      native: addon.version(),
      backend: addon.backend(),
    };
    print(
      versions,
      () =>
        `gatehousectl ${versions.gatehousectl}\nnative addon ${versions.native} (${versions.backend})`,
    );
    return EXIT.ok;
  },
};
