// Reading the console API's query strings and bodies: every value is checked, and a wrong one is
// refused with a 400 that names the parameter, what was given and what is allowed.
import type { MachineRepository } from '../../db/machines';
import { RequestError } from '../../db/requests';
import type { Page } from '../../db/search';

export type Query = Record<string, unknown>;

const DURATION_UNITS: Record<string, number> = {
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const bad = (message: string) => new RequestError(400, message);
const shown = (value: unknown) => JSON.stringify(value);

/** Refuses parameters this endpoint does not know, so that a misspelt filter is not ignored. */
export function onlyKnown(query: Query, known: readonly string[]): void {
  for (const key of Object.keys(query))
    if (!known.includes(key))
      throw bad(`unknown parameter "${key}": this endpoint takes ${known.join(', ')}`);
}

function single(query: Query, key: string): string | undefined {
  const value = query[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw bad(`${key} must be given once`);
  return value;
}

/** A free-text filter: absent or empty means no filter. */
export function optionalText(query: Query, key: string, max = 256): string | undefined {
  const value = single(query, key)?.trim();
  if (!value) return undefined;
  if (value.length > max) throw bad(`${key} is at most ${max} characters`);
  return value;
}

export function optionalChoice<T extends string>(
  query: Query,
  key: string,
  allowed: readonly T[],
): T | undefined {
  const value = single(query, key);
  if (value === undefined || value === '') return undefined;
  if (!(allowed as readonly string[]).includes(value))
    throw bad(`${key} must be one of ${allowed.join(', ')}, got ${shown(value)}`);
  return value as T;
}

function integer(value: string, key: string, min: number, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max)
    throw bad(`${key} must be a whole number from ${min} to ${max}, got ${shown(value)}`);
  return Number(value);
}

export function optionalInteger(
  query: Query,
  key: string,
  min: number,
  max: number,
): number | undefined {
  const value = single(query, key);
  return value === undefined || value === '' ? undefined : integer(value, key, min, max);
}

/** A length of time such as 30m, 4h, 2d or 1w, in milliseconds. */
export function optionalDuration(query: Query, key: string): number | undefined {
  const value = single(query, key);
  if (value === undefined || value === '') return undefined;
  const match = /^(\d{1,6})([mhdw])$/.exec(value);
  if (!match)
    throw bad(
      `${key} must be a number and a unit (m minutes, h hours, d days, w weeks), like 4h or 2d; got ${shown(value)}`,
    );
  return Number(match[1]) * DURATION_UNITS[match[2]!]!;
}

/** A point in time: milliseconds since the epoch, or an ISO 8601 date and time. */
export function optionalTime(query: Query, key: string): number | undefined {
  const value = single(query, key);
  if (value === undefined || value === '') return undefined;
  const ms = /^\d+$/.test(value)
    ? Number(value)
    : /^\d{4}-\d{2}-\d{2}/.test(value)
      ? Date.parse(value)
      : NaN;
  if (!Number.isSafeInteger(ms))
    throw bad(
      `${key} must be a time in milliseconds or ISO 8601 (2026-01-31T09:00:00Z), got ${shown(value)}`,
    );
  return ms;
}

/** limit (1 to max) and offset, for endpoints that page by position. */
export function page(query: Query, defaultLimit: number, maxLimit: number): Page {
  return {
    limit: optionalInteger(query, 'limit', 1, maxLimit) ?? defaultLimit,
    offset: optionalInteger(query, 'offset', 0, 10_000_000) ?? 0,
  };
}

/** The query string as an object (Fastify's parser gives arrays for repeated keys). */
export function queryOf(query: unknown): Query {
  return typeof query === 'object' && query !== null ? (query as Query) : {};
}

const EXPIRY: Record<string, number | null> = {
  none: null,
  '1h': 3600_000,
  '1d': 86_400_000,
  '1w': 604_800_000,
};

/** An expiry as the console sends it: none, 1h, 1d, 1w, or a future time in milliseconds. */
export function expiryOf(expires: unknown, now = Date.now()): number | null {
  if (typeof expires === 'number' && Number.isSafeInteger(expires) && expires > now) return expires;
  if (expires === undefined) return null;
  if (typeof expires === 'string' && Object.hasOwn(EXPIRY, expires))
    return EXPIRY[expires] === null ? null : now + EXPIRY[expires]!;
  throw new RequestError(400, 'expires must be none, 1h, 1d, 1w or a future time in milliseconds');
}

/** A JSON body as an object ({} when there is none), so that a missing field reads undefined. */
export function bodyOf(request: { body?: unknown }): Record<string, unknown> {
  return typeof request.body === 'object' && request.body !== null
    ? (request.body as Record<string, unknown>)
    : {};
}

/** What a path parameter named, or a 404 that says what was not there ("no machine m-1"). */
export function found<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new RequestError(404, `no ${what}`);
  return value;
}

/** The enrolled machine a path names by id (/console/api/machines/:id/...), or a 404. */
export async function knownMachine(machines: MachineRepository, id: string) {
  return found(await machines.get(id), `machine ${id}`);
}

/** Required text: trimmed, not empty, at most `max` characters. */
export function requiredText(value: unknown, what: string, max = 2000): string {
  if (typeof value !== 'string' || !value.trim() || value.length > max)
    throw new RequestError(400, `${what} is required (at most ${max} characters)`);
  return value.trim();
}
