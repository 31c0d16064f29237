// Santa's sync protocol as JSON: what clients send (snake_case and lowerCamelCase alike, with the
// deprecated aliases honoured and unknown keys ignored) and the enum names both sides use.

export const SANTA_CLIENT_MODES = ['MONITOR', 'LOCKDOWN', 'STANDALONE'] as const;
export const SANTA_POLICIES = [
  'ALLOWLIST',
  'ALLOWLIST_COMPILER',
  'BLOCKLIST',
  'SILENT_BLOCKLIST',
  'REMOVE',
] as const;
export const SANTA_RULE_TYPES = ['BINARY', 'CERTIFICATE', 'TEAMID', 'SIGNINGID', 'CDHASH'] as const;
export type SantaPolicy = (typeof SANTA_POLICIES)[number];

/** Proto enum numbers, for clients that send numbers (proto JSON accepts both). */
const CLIENT_MODE_NUMBERS: Record<number, string> = {
  1: 'MONITOR',
  2: 'LOCKDOWN',
  3: 'STANDALONE',
};

/** Deprecated request aliases, mapped to their current names. */
const POLICY_ALIASES: Record<string, SantaPolicy> = {
  WHITELIST: 'ALLOWLIST',
  WHITELIST_COMPILER: 'ALLOWLIST_COMPILER',
  BLACKLIST: 'BLOCKLIST',
  SILENT_BLACKLIST: 'SILENT_BLOCKLIST',
};

export class SantaRequestError extends Error {}

/** lowerCamelCase → snake_case; snake_case stays as it is. */
export function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/** Every key of an object (not nested) in snake_case; the first spelling of a key wins. */
export function normalizeKeys(value: unknown, where: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new SantaRequestError(`${where}: the body must be a JSON object`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const snake = snakeCase(key);
    if (!(snake in out)) out[snake] = item;
  }
  return out;
}

type Body = Record<string, unknown>;

/**
 * A key a client may leave out or send as null; any other value must be one that `read` accepts,
 * else the request fails naming the key and what it must be.
 */
function optional<T>(
  body: Body,
  key: string,
  where: string,
  mustBe: string,
  read: (value: unknown) => T | undefined,
): T | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  const accepted = read(value);
  if (accepted === undefined) throw new SantaRequestError(`${where}: ${key} must be ${mustBe}`);
  return accepted;
}

export function optionalString(
  body: Body,
  key: string,
  where: string,
  max = 1024,
): string | undefined {
  return optional(body, key, where, `a string of at most ${max} characters`, (value) =>
    typeof value === 'string' && value.length <= max ? value : undefined,
  );
}

export function optionalCount(body: Body, key: string, where: string): number | undefined {
  return optional(body, key, where, 'a non-negative integer', (value) => {
    // int64 and uint32 may arrive as JSON strings (proto3 JSON mapping).
    const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
    return typeof number === 'number' && Number.isInteger(number) && number >= 0
      ? number
      : undefined;
  });
}

export function optionalBoolean(body: Body, key: string, where: string): boolean | undefined {
  return optional(body, key, where, 'true or false', (value) =>
    typeof value === 'boolean' ? value : undefined,
  );
}

export function clientModeName(value: unknown, where: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && CLIENT_MODE_NUMBERS[value]) return CLIENT_MODE_NUMBERS[value];
  if (
    typeof value === 'string' &&
    (SANTA_CLIENT_MODES as readonly string[]).includes(value.toUpperCase())
  )
    return value.toUpperCase();
  throw new SantaRequestError(`${where}: client_mode must be MONITOR, LOCKDOWN or STANDALONE`);
}

export function policyName(value: string): SantaPolicy | undefined {
  const upper = value.toUpperCase();
  return (SANTA_POLICIES as readonly string[]).includes(upper)
    ? (upper as SantaPolicy)
    : POLICY_ALIASES[upper];
}
