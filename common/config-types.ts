// The value types of config.json keys (Santa's SNTConfigurator: key → type). A type knows what it
// takes, in the words errors use, so the service and the menu-bar app refuse a value alike.
import {
  POLICIES,
  RULE_TYPES,
  validateRuleIdentifier,
  type ClientMode,
  type Policy,
  type RuleType,
} from './rules';

export type Checked<T> =
  | { readonly ok: true; readonly value: T }
  /** details: problems more precise than `allowed`, each naming where in the value it is. */
  | { readonly ok: false; readonly details?: readonly string[] };

export interface ValueType<T> {
  /** What a value must be, completing "KEY must be …". */
  readonly allowed: string;
  readonly check: (value: unknown) => Checked<T>;
}

export interface StaticRule {
  readonly type: RuleType;
  readonly identifier: string;
  readonly policy: Policy;
  readonly customMsg?: string;
  readonly customUrl?: string;
  readonly comment?: string;
}

export const show = (value: unknown): string => JSON.stringify(value) ?? String(value);

const accept = <T>(value: T): Checked<T> => ({ ok: true, value });
const REFUSED = { ok: false } as const;

/** POSIX only: the service and the app run on Linux and macOS, where node:path says the same. */
const isAbsolutePath = (value: unknown): value is string =>
  typeof value === 'string' && value.startsWith('/');

export const boolean: ValueType<boolean> = {
  allowed: 'true or false',
  check: (value) => (typeof value === 'boolean' ? accept(value) : REFUSED),
};

export function integer(min: number, max: number): ValueType<number> {
  return {
    allowed: `an integer from ${min} to ${max}`,
    check: (value) =>
      typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
        ? accept(value)
        : REFUSED,
  };
}

export function text(max: number): ValueType<string> {
  return {
    allowed: `a string of 1 to ${max} characters`,
    check: (value) =>
      typeof value === 'string' && value.length > 0 && value.length <= max
        ? accept(value)
        : REFUSED,
  };
}

export const absolutePath: ValueType<string> = {
  allowed: 'an absolute path',
  check: (value) => (isAbsolutePath(value) ? accept(value) : REFUSED),
};

export function pathList({ nonEmpty = false } = {}): ValueType<readonly string[]> {
  return {
    allowed: 'a list of absolute paths',
    check: (value) =>
      Array.isArray(value) && (!nonEmpty || value.length > 0) && value.every(isAbsolutePath)
        ? accept(value as string[])
        : REFUSED,
  };
}

/**
 * The placeholders Santa's EventDetailURL expands (main/app/event-detail-url.ts expands only
 * lowercase ones, so an uppercase one is left in the URL and must make it valid as it stands).
 */
const PLACEHOLDER = /%[a-z_]+%/g;
const URL_MAX = 4096;

/** URL.parse arrives only in Node 22. */
function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

const isLoopback = (hostname: string) =>
  hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';

/**
 * An https URL. `localHttp` also admits http to this machine (a test or a tunnel); `santaNull`
 * reads the string "null" as unset, as Santa does for the block dialog's URL.
 */
export function url(
  options: { localHttp?: boolean; placeholders?: boolean; santaNull?: boolean } = {},
): ValueType<string | undefined> {
  const allowed = options.localHttp
    ? 'an https:// URL (http:// only for localhost)'
    : 'an https:// URL';
  return {
    allowed,
    check: (value) => {
      if (typeof value !== 'string' || value.length > URL_MAX) return REFUSED;
      if (options.santaNull && value === 'null') return accept(undefined);
      const parsed = parseUrl(options.placeholders ? value.replace(PLACEHOLDER, 'x') : value);
      const fits =
        parsed?.protocol === 'https:' ||
        (options.localHttp && parsed?.protocol === 'http:' && isLoopback(parsed.hostname));
      return fits ? accept(value) : REFUSED;
    },
  };
}

export const clientMode: ValueType<ClientMode> = {
  allowed: "MONITOR or LOCKDOWN (or Santa's 1 or 2)",
  check: (value) => {
    if (value === 'MONITOR' || value === 1) return accept('MONITOR');
    if (value === 'LOCKDOWN' || value === 2) return accept('LOCKDOWN');
    return REFUSED;
  },
};

const TAG = /^[A-Za-z0-9._-]{1,64}$/;

/** Gatehouse's machine tags; a tag given twice counts once. */
export const machineTags: ValueType<readonly string[]> = {
  allowed: 'a list of at most 50 tags (1 to 64 letters, digits, ".", "_" or "-")',
  check: (value) =>
    Array.isArray(value) &&
    value.length <= 50 &&
    value.every((tag) => typeof tag === 'string' && TAG.test(tag))
      ? accept([...new Set(value as string[])])
      : REFUSED,
};

export const macOSVersion: ValueType<string> = {
  allowed: 'a macOS version such as "14.0" or "15.3.1"',
  check: (value) =>
    typeof value === 'string' && /^\d+(\.\d+){0,2}$/.test(value) ? accept(value) : REFUSED,
};

export const staticRules: ValueType<readonly StaticRule[]> = {
  allowed: 'a list of rules { identifier, rule_type, policy, custom_msg? }',
  check: (value) => {
    if (!Array.isArray(value)) return REFUSED;
    const rules: StaticRule[] = [];
    const details: string[] = [];
    value.forEach((entry: unknown, index) => {
      const checked = checkStaticRule(entry);
      if (Array.isArray(checked))
        details.push(...checked.map((problem) => `StaticRules[${index}]: ${problem}`));
      else rules.push(checked as StaticRule);
    });
    return details.length > 0 ? { ok: false, details } : accept(rules);
  },
};

/** One StaticRules entry, or every problem it has (all of them, so one edit fixes the rule). */
function checkStaticRule(entry: unknown): StaticRule | string[] {
  const r = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
  const type = r.rule_type as RuleType;
  const policy = r.policy as Policy;
  const identifier = r.identifier;
  const wrong: string[] = [];
  if (!RULE_TYPES.includes(type))
    wrong.push(`rule_type must be one of ${RULE_TYPES.join(', ')}, got ${show(r.rule_type)}`);
  if (!POLICIES.includes(policy))
    wrong.push(`policy must be one of ${POLICIES.join(', ')}, got ${show(r.policy)}`);
  // The rule constructor the native table mirrors: what it refuses never gets this far.
  const checked =
    typeof identifier === 'string' && identifier.length > 0 && RULE_TYPES.includes(type)
      ? validateRuleIdentifier(type, identifier)
      : undefined;
  if (typeof identifier !== 'string' || identifier.length === 0)
    wrong.push(`identifier must be a string, got ${show(identifier)}`);
  else if (checked && !checked.ok)
    wrong.push(`identifier of a ${type} rule must be ${checked.allowed}, got ${checked.got}`);
  if (wrong.length > 0 || !checked?.ok) return wrong;
  return {
    type,
    identifier: checked.identifier,
    policy,
    ...(typeof r.custom_msg === 'string' ? { customMsg: r.custom_msg } : {}),
    ...(typeof r.custom_url === 'string' ? { customUrl: r.custom_url } : {}),
    ...(typeof r.comment === 'string' ? { comment: r.comment } : {}),
  };
}
