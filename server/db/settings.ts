// Settings profiles: Santa's preflight settings for the whole fleet, for a tag or for one machine.
// A machine's value for a key comes from its machine profile, else from the profiles of its tags,
// else from the global profile, else from the server's default (batch size, full sync interval,
// event detail URL) or from nothing at all, in which case the key is not sent and the client
// keeps what it has. Between tags that both set a key, the higher priority wins, and on equal
// priority the tag whose name sorts first (by code point), so the outcome never depends on the
// order of a machine's tags or of rows in the database.
import type { PushHub, PushTarget } from '../push';
import {
  CLIENT_MODES,
  FILE_ACCESS_ACTIONS,
  SETTINGS_SCOPES,
  type PreflightSettingValues,
  type EffectiveSetting,
  type SettingKey,
  type SettingValues,
  type SettingsProfile,
  type SettingsScope,
} from '../schemas/settings';
import { audit } from './audit';
import type { Db } from './connect';
import { countOf } from './rows';
import { RequestError } from './requests';
import type { SettingsProfilesTable } from './schema';

const bad = (message: string) => new RequestError(400, message);
const shown = (value: unknown) => JSON.stringify(value);

/** Santa's RemountUSBMode flags (mount -o options it applies when remounting removable media). */
export const REMOUNT_FLAGS = [
  'rdonly',
  'noexec',
  'nosuid',
  'nobrowse',
  'noowners',
  'nodev',
  'async',
  'sync',
  '-j',
] as const;

/** Paths an allowed_path_regex must not cover all of: it would turn LOCKDOWN off. */
const EVERYWHERE = [
  '/tmp/x',
  '/Users/someone/Downloads/x',
  '/private/var/tmp/x',
  '/usr/local/bin/x',
];

const TAG = /^[A-Za-z0-9._-]{1,64}$/;
export const MAX_TAG_PROFILES = 1000;

function choice<T extends string>(allowed: readonly T[]) {
  return (value: unknown, key: string): T => {
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value))
      throw bad(`${key} must be one of ${allowed.join(', ')}; got ${shown(value)}`);
    return value as T;
  };
}

function integer(min: number, max: number, why = '') {
  return (value: unknown, key: string): number => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
      throw bad(`${key} must be a whole number from ${min} to ${max}${why}; got ${shown(value)}`);
    return value;
  };
}

function flag(value: unknown, key: string): boolean {
  if (typeof value !== 'boolean') throw bad(`${key} must be true or false; got ${shown(value)}`);
  return value;
}

function text(max: number) {
  return (value: unknown, key: string): string => {
    if (typeof value !== 'string' || value.trim() === '' || value.length > max)
      throw bad(`${key} must be text of 1 to ${max} characters; got ${shown(value)}`);
    return value.trim();
  };
}

/** An http(s) address; Santa's placeholders (%file_sha%, %machine_id%, …) may appear in it. */
function detailUrl(value: unknown, key: string): string {
  const url = text(2048)(value, key);
  let parsed: URL | undefined;
  try {
    parsed = new URL(url.replace(/%[a-z_]+%/gi, 'x'));
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:'))
    throw bad(`${key} must be an https:// (or http://) address; got ${shown(value)}`);
  return url;
}

/** Santa matches these with ICU; JavaScript's syntax agrees on what fleets use (classes, anchors, groups). */
function pathRegex(allowed: boolean) {
  return (value: unknown, key: string): string => {
    const source = text(1024)(value, key);
    let regex: RegExp;
    try {
      regex = new RegExp(source);
    } catch (error) {
      throw bad(`${key} is not a regular expression: ${(error as Error).message}`);
    }
    if (allowed && EVERYWHERE.every((path) => regex.test(path)))
      throw bad(
        `${key} ${shown(source)} matches paths anywhere (such as /tmp): it would let every unknown program run; anchor it to the folders you mean, like ^/Applications/Tools/`,
      );
    return source;
  };
}

function remountFlags(value: unknown, key: string): string[] {
  if (!Array.isArray(value) || value.length > REMOUNT_FLAGS.length)
    throw bad(`${key} must be a list of mount flags (${REMOUNT_FLAGS.join(', ')})`);
  for (const item of value)
    if (typeof item !== 'string' || !(REMOUNT_FLAGS as readonly string[]).includes(item))
      throw bad(`${key}: ${shown(item)} is not one of ${REMOUNT_FLAGS.join(', ')}`);
  if (new Set(value).size !== value.length) throw bad(`${key} names a flag twice`);
  return value as string[];
}

/** Every setting a profile may hold, in the order the console lists them, with its check. */
export const SETTING_CHECKS: { readonly [K in SettingKey]-?: (v: unknown, k: string) => unknown } =
  {
    client_mode: choice(CLIENT_MODES),
    event_detail_url: detailUrl,
    event_detail_text: text(64),
    batch_size: integer(1, 500),
    full_sync_interval: integer(60, 86_400, " (seconds; Santa's floor is 60)"),
    allowed_path_regex: pathRegex(true),
    blocked_path_regex: pathRegex(false),
    enable_transitive_rules: flag,
    enable_bundles: flag,
    enable_all_event_upload: flag,
    disable_unknown_event_upload: flag,
    block_usb_mount: flag,
    remount_usb_mode: remountFlags,
    override_file_access_action: choice(FILE_ACCESS_ACTIONS),
  };
export const SETTING_KEYS = Object.keys(SETTING_CHECKS) as SettingKey[];

/** A profile's values as an admin sent them, each checked; null or absent clears a key. */
export function checkSettingValues(input: unknown): SettingValues {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw bad('values must be an object of settings');
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (!(SETTING_KEYS as string[]).includes(key))
      throw bad(`unknown setting ${shown(key)}: the settings are ${SETTING_KEYS.join(', ')}`);
    if (value === null || value === undefined) continue;
    values[key] = SETTING_CHECKS[key as SettingKey](value, key);
  }
  // Santa reads the remount flags only beside block_usb_mount, so they come as a pair.
  if (values.remount_usb_mode !== undefined && values.block_usb_mount !== true)
    throw bad('remount_usb_mode applies only with block_usb_mount set to true in the same profile');
  return values as SettingValues;
}

/** The scope's value: a tag, an enrolled machine's id (checked by the caller), or none. */
export function checkScope(
  scope: unknown,
  value: unknown,
): { scope: SettingsScope; value: string } {
  if (typeof scope !== 'string' || !(SETTINGS_SCOPES as readonly string[]).includes(scope))
    throw bad(`scope must be one of ${SETTINGS_SCOPES.join(', ')}; got ${shown(scope)}`);
  if (scope === 'global') {
    if (value !== undefined && value !== '') throw bad('the global profile has no scope value');
    return { scope, value: '' };
  }
  if (typeof value !== 'string' || value === '')
    throw bad(`a ${scope} profile names its ${scope === 'tag' ? 'tag' : 'machine id'}`);
  if (scope === 'tag' && !TAG.test(value))
    throw bad(`tag ${shown(value)} has 1 to 64 letters, digits and . _ - only`);
  if (value.length > 256) throw bad('a machine id is at most 256 characters');
  return { scope: scope as SettingsScope, value };
}

/** The server's own values: sent when no profile sets the key. */
export interface SettingDefaults {
  readonly batchSize: number;
  readonly fullSyncIntervalS: number;
  readonly eventDetailUrl?: string | undefined;
}

function defaultValues(defaults: SettingDefaults): SettingValues {
  return {
    batch_size: defaults.batchSize,
    full_sync_interval: defaults.fullSyncIntervalS,
    ...(defaults.eventDetailUrl ? { event_detail_url: defaults.eventDetailUrl } : {}),
  };
}

const sourceOf = (profile: SettingsProfile) =>
  profile.scope === 'tag' ? `tag:${profile.scope_value}` : profile.scope;

/** Tag profiles in the order they win: higher priority first, then the tag name. */
const tagOrder = (a: SettingsProfile, b: SettingsProfile) =>
  b.priority - a.priority || (a.scope_value! < b.scope_value! ? -1 : 1);

/** Whose values reach a machine, the winner of each key first. */
function layersFor(
  profiles: readonly SettingsProfile[],
  machine: { machine_id: string; tags: readonly string[] },
): SettingsProfile[] {
  const own = profiles.filter((p) => p.scope === 'machine' && p.scope_value === machine.machine_id);
  const tags = profiles
    .filter((p) => p.scope === 'tag' && machine.tags.includes(p.scope_value!))
    .sort(tagOrder);
  return [...own, ...tags, ...profiles.filter((p) => p.scope === 'global')];
}

/**
 * Each key's value for this machine and where it came from. remount_usb_mode is never taken on
 * its own: it follows the profile block_usb_mount came from, as Santa reads the two together.
 */
export function resolveSettings(
  profiles: readonly SettingsProfile[],
  machine: { machine_id: string; tags: readonly string[] },
  defaults: SettingDefaults,
): EffectiveSetting[] {
  const layers = layersFor(profiles, machine);
  const fallback = defaultValues(defaults);
  const settings: EffectiveSetting[] = [];
  for (const key of SETTING_KEYS) {
    if (key === 'remount_usb_mode') continue;
    const layer = layers.find((profile) => profile.values[key] !== undefined);
    if (layer) settings.push({ key, value: layer.values[key], source: sourceOf(layer) });
    else if (fallback[key] !== undefined)
      settings.push({ key, value: fallback[key], source: 'default' });
    if (key === 'block_usb_mount' && layer?.values.remount_usb_mode)
      settings.push({
        key: 'remount_usb_mode',
        value: layer.values.remount_usb_mode,
        source: sourceOf(layer),
      });
  }
  return settings;
}

export type PreflightSettingsAnswer = PreflightSettingValues & {
  batch_size: number;
  full_sync_interval: number;
};

/**
 * The preflight answer's settings. USB mounting goes both as block_usb_mount/remount_usb_mode
 * (every Santa version reads them) and as removable_media_policy (their replacement in newer
 * ones, which ignore the old keys when it is set; older ones ignore the new key).
 */
export function preflightSettings(settings: readonly EffectiveSetting[]): PreflightSettingsAnswer {
  const values = Object.fromEntries(settings.map((s) => [s.key, s.value])) as SettingValues & {
    batch_size: number;
    full_sync_interval: number;
  };
  const answer: PreflightSettingsAnswer = { ...values };
  if (values.block_usb_mount !== undefined) {
    const flags = values.remount_usb_mode ?? [];
    answer.removable_media_policy = !values.block_usb_mount
      ? { allow: true }
      : flags.length > 0
        ? { remount: { flags } }
        : { block: true };
  }
  return answer;
}

type ProfileRow = SettingsProfilesTable;

function profileOf(row: ProfileRow): SettingsProfile {
  return {
    scope: row.scope as SettingsScope,
    scope_value: row.scope === 'global' ? null : row.scope_value,
    priority: Number(row.priority),
    values: JSON.parse(row.settings) as SettingValues,
    updated_by: row.updated_by,
    updated_at: Number(row.updated_at),
  };
}

/** Who hears of a change to a profile: the machines it can reach. */
export function settingsTarget(scope: SettingsScope, value: string): PushTarget {
  if (scope === 'machine') return { machines: [value] };
  if (scope === 'tag') return { tags: [value] };
  return { all: true };
}

export interface ProfileChange {
  readonly scope: SettingsScope;
  readonly value: string;
  readonly priority: number;
  readonly values: SettingValues;
}

/** Machines whose preflight settings one server process keeps, at most. */
export const MAX_KEPT_ANSWERS = 10_000;

/** Tells every server process's kept preflight settings that a profile changed (preflightFor). */
async function bumpSettingsVersion(trx: Db): Promise<void> {
  const { numUpdatedRows } = await trx
    .updateTable('counters')
    .set((eb) => ({ value: eb('value', '+', 1) }))
    .where('name', '=', 'settings_version')
    .executeTakeFirstOrThrow();
  // Without its counter no process would ever learn of the change: refuse it (rolled back).
  if (Number(numUpdatedRows) !== 1)
    throw new Error(
      'settings: the settings_version counter is missing from the database; restart the server so that its migrations run',
    );
}

export class SettingsRepository {
  /** Preflight answers by machine and tags, for the settings version and defaults they were for. */
  readonly #answers = new Map<string, PreflightSettingsAnswer>();
  #answersFor: { version: number; defaults: SettingDefaults } | undefined;

  constructor(
    private readonly db: Db,
    private readonly push?: PushHub,
    private readonly keep = MAX_KEPT_ANSWERS,
  ) {}

  /** How many machines' preflight settings this process keeps now. */
  get keptAnswers(): number {
    return this.#answers.size;
  }

  async list(): Promise<SettingsProfile[]> {
    const rows = await this.db
      .selectFrom('settings_profiles')
      .selectAll()
      .orderBy('scope')
      .orderBy('scope_value')
      .execute();
    return rows.map(profileOf);
  }

  async get(scope: SettingsScope, value: string): Promise<SettingsProfile | undefined> {
    const row = await this.db
      .selectFrom('settings_profiles')
      .selectAll()
      .where('scope', '=', scope)
      .where('scope_value', '=', value)
      .executeTakeFirst();
    return row && profileOf(row);
  }

  /** Creates or replaces a profile, audited in the same transaction, then tells its machines. */
  async put(change: ProfileChange, actor: string, now = Date.now()): Promise<SettingsProfile> {
    const row: ProfileRow = {
      scope: change.scope,
      scope_value: change.value,
      priority: change.priority,
      settings: JSON.stringify(change.values),
      updated_by: actor,
      updated_at: now,
    };
    await this.db.transaction().execute(async (trx) => {
      const before = await trx
        .selectFrom('settings_profiles')
        .select(['settings', 'priority'])
        .where('scope', '=', change.scope)
        .where('scope_value', '=', change.value)
        .executeTakeFirst();
      if (!before && change.scope === 'tag') await this.#roomForTag(trx);
      await trx
        .insertInto('settings_profiles')
        .values(row)
        .onConflict((conflict) =>
          conflict.columns(['scope', 'scope_value']).doUpdateSet({
            priority: row.priority,
            settings: row.settings,
            updated_by: actor,
            updated_at: now,
          }),
        )
        .execute();
      const details = {
        scope: change.scope,
        scope_value: change.value || null,
        priority: change.priority,
        values: change.values,
        before: before ? (JSON.parse(before.settings) as SettingValues) : null,
      };
      await audit(
        trx,
        { actor, action: 'settings.update', target: targetOf(change), details },
        now,
      );
      await bumpSettingsVersion(trx);
    });
    await this.push?.publish({
      kind: 'settings-changed',
      target: settingsTarget(change.scope, change.value),
    });
    return profileOf(row);
  }

  async #roomForTag(trx: Db): Promise<void> {
    const tags = await countOf(trx.selectFrom('settings_profiles').where('scope', '=', 'tag'));
    if (tags >= MAX_TAG_PROFILES)
      throw bad(`there are already ${MAX_TAG_PROFILES} tag profiles: remove one first`);
  }

  /** Removes a profile (its machines fall back to the ones below it), audited and pushed. */
  async remove(scope: SettingsScope, value: string, actor: string, now = Date.now()) {
    const removed = await this.db.transaction().execute(async (trx) => {
      const row = await trx
        .deleteFrom('settings_profiles')
        .where('scope', '=', scope)
        .where('scope_value', '=', value)
        .returning(['settings'])
        .executeTakeFirst();
      if (!row) return false;
      await audit(
        trx,
        {
          actor,
          action: 'settings.remove',
          target: targetOf({ scope, value }),
          details: { scope, scope_value: value || null, before: JSON.parse(row.settings) },
        },
        now,
      );
      await bumpSettingsVersion(trx);
      return true;
    });
    if (removed)
      await this.push?.publish({ kind: 'settings-changed', target: settingsTarget(scope, value) });
    return removed;
  }

  /** The profiles that can reach this machine: global, its tags', its own. */
  async profilesFor(machine: { machine_id: string; tags: readonly string[] }) {
    const rows = await this.db
      .selectFrom('settings_profiles')
      .selectAll()
      .where((eb) =>
        eb.or([
          eb('scope', '=', 'global'),
          eb.and([eb('scope', '=', 'machine'), eb('scope_value', '=', machine.machine_id)]),
          ...(machine.tags.length > 0
            ? [eb.and([eb('scope', '=', 'tag'), eb('scope_value', 'in', [...machine.tags])])]
            : []),
        ]),
      )
      .execute();
    return rows.map(profileOf);
  }

  async effectiveFor(
    machine: { machine_id: string; tags: readonly string[] },
    defaults: SettingDefaults,
  ): Promise<EffectiveSetting[]> {
    return resolveSettings(await this.profilesFor(machine), machine, defaults);
  }

  /**
   * What preflight sends this machine: one call from the Santa route. `version` is the settings
   * version the preflight read (RuleRepository.syncVersions); every profile change bumps it in its
   * own transaction, so an answer kept for this version, machine and tags is still the answer, and
   * no query is needed. Kept for at most `keep` machines, all dropped at a new version.
   */
  async preflightFor(
    machine: { machine_id: string; tags: string },
    defaults: SettingDefaults,
    version: number,
  ): Promise<PreflightSettingsAnswer> {
    if (this.#answersFor?.version !== version || this.#answersFor.defaults !== defaults) {
      this.#answers.clear();
      this.#answersFor = { version, defaults };
    }
    const key = `${machine.machine_id}\n${machine.tags}`;
    const kept = this.#answers.get(key);
    if (kept) return kept;
    const tags = JSON.parse(machine.tags) as string[];
    const answer = preflightSettings(
      await this.effectiveFor({ machine_id: machine.machine_id, tags }, defaults),
    );
    if (this.#answers.size >= this.keep) this.#answers.delete(this.#answers.keys().next().value!);
    // Only kept while no newer version was read meanwhile (that one's answers are kept instead).
    if (this.#answersFor.version === version && this.#answersFor.defaults === defaults)
      this.#answers.set(key, answer);
    return answer;
  }
}

/** The audit log's target for a profile: settings:global, settings:tag:NAME, settings:machine:ID. */
export function targetOf(profile: { scope: SettingsScope; value: string }): string {
  return profile.scope === 'global'
    ? 'settings:global'
    : `settings:${profile.scope}:${profile.value}`;
}
