// The backend's JSON API as the console's and the portal's pages call it: the browser's cookies
// (same origin), the session's CSRF token on every change, and on an error the server's
// sentence, which says what was wrong and what to do.
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface Api {
  api<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T>;
  /** The token the session came with (empty once signed out). */
  setCsrfToken(token: string): void;
}

/** The API under `prefix` (`/console/api`, `/portal/api`). */
export function apiAt(prefix: string): Api {
  let csrfToken = '';
  return {
    setCsrfToken(token) {
      csrfToken = token;
    },
    async api<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
      const response = await fetch(`${prefix}${path}`, {
        method,
        credentials: 'same-origin',
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(method !== 'GET' ? { 'x-csrf-token': csrfToken } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const data = (await response.json().catch(() => ({}))) as { error?: string };
      if (!response.ok)
        throw new ApiError(response.status, data.error ?? `request failed (${response.status})`);
      return data as T;
    },
  };
}
