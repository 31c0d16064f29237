// The console API as the console calls it: a session cookie, and the CSRF token on changes.
import { expect } from 'vitest';

export interface ConsoleSession {
  cookie: string;
  csrf: string;
}

export interface CallOptions {
  cookie?: string;
  csrf?: string;
  body?: unknown;
}

export async function callConsole(
  base: string,
  method: string,
  path: string,
  options: CallOptions = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<{ status: number; body: any }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(options.cookie ? { cookie: options.cookie } : {}),
      ...(options.csrf ? { 'x-csrf-token': options.csrf } : {}),
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  return { status: response.status, body: await response.json().catch(() => ({})) };
}

/** Logs in through the API and keeps what later calls need. */
export async function logInThroughApi(
  base: string,
  account: { username: string; password: string },
): Promise<ConsoleSession & { setCookie: string }> {
  const response = await fetch(`${base}/console/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(account),
  });
  expect(response.status).toBe(200);
  const { csrfToken } = (await response.json()) as { csrfToken: string };
  const setCookie = response.headers.get('set-cookie')!;
  return { cookie: setCookie.split(';')[0]!, csrf: csrfToken, setCookie };
}
