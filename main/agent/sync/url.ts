// SyncBaseURL is a directory: Santa appends a missing '/' so that 'preflight/<id>' resolves
// beneath it instead of replacing its last segment. Gatehouse's own API sits beside it, at
// <base>/../api/v1/, so that one setting serves both. Every sync URL is built here so that the
// slash is fixed in one place.

/** `path` resolved relative to the sync base URL, read as a directory. */
export function syncUrl(baseUrl: string | URL, path: string): URL {
  const base = String(baseUrl);
  return new URL(path, base.endsWith('/') ? base : `${base}/`);
}

/** A Santa stage's URL: `<base>/<stage>/<machine_id>`. */
export function stageUrl(baseUrl: string | URL, stage: string, machineId: string): URL {
  return syncUrl(baseUrl, `${stage}/${encodeURIComponent(machineId)}`);
}

/** A Gatehouse API URL beside the Santa base: `<base>/../api/v1/<path>`. */
export function apiUrl(baseUrl: string | URL, path: string): URL {
  return syncUrl(baseUrl, `../api/v1/${path}`);
}
