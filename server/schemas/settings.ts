// Settings profiles: the preflight settings Santa clients (and Gatehouse agents) act on, set for
// the whole fleet, for a tag or for one machine. The keys are Santa's PreflightResponse JSON names
// (northpolesec/protos sync/v1.proto), so a value goes to the client as stored. Wire types only:
// the checks that say what is wrong with a value are in server/db/settings.ts. Only `typebox` and
// the schemas beside this file may be imported here: the console's type check reads it too.
import { Type, type Static, type TLiteral, type TUnion } from 'typebox';
import { Nullable, Optional } from './shared';

/** sync/v1.proto ClientMode, without UNKNOWN_CLIENT_MODE (which clients ignore). */
export const CLIENT_MODES = ['MONITOR', 'LOCKDOWN', 'STANDALONE'] as const;
/** sync/v1.proto FileAccessAction, without FILE_ACCESS_ACTION_UNSPECIFIED. */
export const FILE_ACCESS_ACTIONS = ['NONE', 'AUDIT_ONLY', 'DISABLE'] as const;
export const SETTINGS_SCOPES = ['global', 'tag', 'machine'] as const;

/** A union of these literals, so that each list of values is written once. */
const oneOf = <const Values extends readonly string[]>(values: Values) =>
  Type.Union(values.map((value) => Type.Literal(value))) as TUnion<{
    -readonly [K in keyof Values]: TLiteral<Values[K]>;
  }>;

const ClientMode = oneOf(CLIENT_MODES);
const FileAccessAction = oneOf(FILE_ACCESS_ACTIONS);
const Scope = oneOf(SETTINGS_SCOPES);

// Every setting is optional: a profile that leaves one out takes it from below.
const Text = Optional(Type.String());
const Switch = Optional(Type.Boolean());

/** The settings sent as they are stored (batch size and interval are added apart: preflight always sends them). */
const SentAsStored = {
  client_mode: Optional(ClientMode),
  event_detail_url: Text,
  event_detail_text: Text,
  allowed_path_regex: Text,
  blocked_path_regex: Text,
  enable_transitive_rules: Switch,
  enable_bundles: Switch,
  enable_all_event_upload: Switch,
  disable_unknown_event_upload: Switch,
  block_usb_mount: Switch,
  remount_usb_mode: Optional(Type.Array(Type.String())),
  override_file_access_action: Optional(FileAccessAction),
};

/** One profile's values: every key optional; a key a profile leaves out comes from below it. */
export const SettingValues = Type.Object(
  {
    ...SentAsStored,
    batch_size: Optional(Type.Integer()),
    full_sync_interval: Optional(Type.Integer()),
  },
  { additionalProperties: false },
);
export type SettingValues = Static<typeof SettingValues>;
export type SettingKey = keyof SettingValues;
export type SettingsScope = (typeof SETTINGS_SCOPES)[number];

export const SettingsProfile = Type.Object({
  scope: Scope,
  /** The tag or the machine id; null for the global profile. */
  scope_value: Nullable(Type.String()),
  /** Between tag profiles: the higher wins a key both set; equal ones, the tag first by name. */
  priority: Type.Integer(),
  values: SettingValues,
  updated_by: Type.String(),
  updated_at: Type.Number(),
});
export type SettingsProfile = Static<typeof SettingsProfile>;

export const SettingsProfileList = Type.Object({ profiles: Type.Array(SettingsProfile) });
export type SettingsProfileList = Static<typeof SettingsProfileList>;

export const SettingsProfileParams = Type.Object({
  scope: Type.String(),
  value: Type.Optional(Type.String()),
});

/** Where a machine's value came from: `default` (the server's), `global`, `tag:NAME`, `machine`. */
export const EffectiveSetting = Type.Object({
  key: Type.String(),
  value: Type.Unknown(),
  source: Type.String(),
});
export type EffectiveSetting = Static<typeof EffectiveSetting>;

export const EffectiveSettings = Type.Object({
  machine_id: Type.String(),
  settings: Type.Array(EffectiveSetting),
});
export type EffectiveSettings = Static<typeof EffectiveSettings>;

/** sync/v1.proto RemovableMediaPolicy: newer Santa's form of block_usb_mount/remount_usb_mode. */
const RemovableMediaPolicy = Type.Union([
  Type.Object({ allow: Type.Boolean() }),
  Type.Object({ block: Type.Boolean() }),
  Type.Object({ remount: Type.Object({ flags: Type.Array(Type.String()) }) }),
]);

/** The settings part of Santa's PreflightResponse, as JSON names; an absent key is not sent. */
export const PreflightSettings = {
  ...SentAsStored,
  removable_media_policy: Optional(RemovableMediaPolicy),
};

export const PreflightSettingsObject = Type.Object(PreflightSettings);
export type PreflightSettingValues = Static<typeof PreflightSettingsObject>;
