/** A sync that failed; the message names the stage and what to do, and is shown as it is. */
export class SyncError extends Error {}
