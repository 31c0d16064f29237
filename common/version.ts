import packageJson from '../package.json' with { type: 'json' };

/** The product version, one value for the app, the service, the CLI and the server. */
export const PRODUCT_VERSION: string = packageJson.version;
