// What the console API returns, as the pages use it: the server's route schemas are the one
// source (server/schemas/console.ts, server/schemas/settings.ts). Type-only, so none of the
// server's code reaches the bundle.
export type * from '../../../schemas/console';
export type * from '../../../schemas/settings';
