// `npm run server`: boots the backend. Only booting belongs here.
import { PRODUCT_VERSION } from '../common/version';

export function describeServer(): string {
  return `gatehouse-server ${PRODUCT_VERSION}: no routes are served in this version; nothing to run.`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(describeServer());
}
