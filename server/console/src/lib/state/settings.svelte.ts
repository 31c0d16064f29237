// Settings profiles in the console: the list and an admin's draft (Settings.svelte), and how a
// machine's effective settings read (MachineSettings.svelte). The server checks every value; its
// refusal is shown as sent.
import { api } from '../api';
import type { SettingKey, SettingsProfile, SettingsScope, SettingValues } from '../types';

type Kind = 'choice' | 'text' | 'number' | 'flag' | 'flags';
export interface SettingField {
  readonly label: string;
  readonly kind: Kind;
  readonly choices?: readonly string[];
  readonly hint?: string;
}

const MODES = {
  MONITOR: 'unknown programs run and are recorded',
  LOCKDOWN: 'unknown programs are blocked',
  STANDALONE: 'blocked, but the user may approve on the Mac',
} satisfies Record<NonNullable<SettingValues['client_mode']>, string>;
const FILE_ACCESS = {
  NONE: 'apply the policy as written',
  AUDIT_ONLY: 'log what would be denied, allow it',
  DISABLE: 'take no action',
} satisfies Record<NonNullable<SettingValues['override_file_access_action']>, string>;
export const CHOICE_HINTS: Record<string, string> = { ...MODES, ...FILE_ACCESS };

/** Every setting, in the order shown, by Santa's PreflightResponse name. */
export const SETTING_FIELDS = {
  client_mode: { label: 'Client mode', kind: 'choice', choices: Object.keys(MODES) },
  event_detail_url: {
    label: 'Event detail URL',
    kind: 'text',
    hint: 'https://…, with placeholders such as %file_sha% and %machine_id%',
  },
  event_detail_text: { label: 'Event detail button text', kind: 'text' },
  batch_size: { label: 'Events per upload', kind: 'number', hint: '1 to 500' },
  full_sync_interval: { label: 'Full sync interval (s)', kind: 'number', hint: '60 to 86400' },
  allowed_path_regex: {
    label: 'Allowed path regex',
    kind: 'text',
    hint: 'e.g. ^/Applications/Tools/',
  },
  blocked_path_regex: { label: 'Blocked path regex', kind: 'text' },
  enable_transitive_rules: { label: 'Transitive (compiler) rules', kind: 'flag' },
  enable_bundles: { label: 'Bundle scanning', kind: 'flag' },
  enable_all_event_upload: { label: 'Upload every event', kind: 'flag' },
  disable_unknown_event_upload: { label: 'No events for unknown programs', kind: 'flag' },
  block_usb_mount: { label: 'Block USB storage', kind: 'flag' },
  remount_usb_mode: {
    label: 'Remount USB with flags',
    kind: 'flags',
    hint: 'comma-separated: rdonly, noexec, nosuid, nobrowse…',
  },
  override_file_access_action: {
    label: 'File access override',
    kind: 'choice',
    choices: Object.keys(FILE_ACCESS),
  },
} satisfies Record<SettingKey, SettingField> as Record<SettingKey, SettingField>;
export const SETTING_KEYS = Object.keys(SETTING_FIELDS) as SettingKey[];

/** A value as the console shows it. */
export function shownValue(value: unknown): string {
  if (Array.isArray(value)) return value.join(', ');
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  return String(value);
}

/** Where a value came from, in words. */
export function sourceText(source: string): string {
  if (source === 'default') return 'server default';
  if (source === 'global') return 'global profile';
  if (source === 'machine') return "this machine's profile";
  return `tag ${source.slice('tag:'.length)}`;
}

export function profileName(profile: Pick<SettingsProfile, 'scope' | 'scope_value'>): string {
  if (profile.scope === 'global') return 'Everyone (global)';
  return `${profile.scope === 'tag' ? 'Tag' : 'Machine'} ${profile.scope_value}`;
}

interface Draft {
  scope: SettingsScope;
  scopeValue: string;
  priority: string;
  /** Each field as typed; '' leaves the key unset. */
  values: Record<SettingKey, string>;
}

const blankValues = () =>
  Object.fromEntries(SETTING_KEYS.map((key) => [key, ''])) as Record<SettingKey, string>;

function typedValue(key: SettingKey, text: string): unknown {
  const kind = SETTING_FIELDS[key].kind;
  if (kind === 'number') return /^-?\d+$/.test(text.trim()) ? Number(text) : text;
  if (kind === 'flag') return text === 'true';
  if (kind === 'flags') return text.split(/[\s,]+/).filter(Boolean);
  return text;
}

export class SettingsPageState {
  profiles = $state<SettingsProfile[]>([]);
  error = $state('');
  notice = $state('');
  draft = $state<Draft>({ scope: 'global', scopeValue: '', priority: '0', values: blankValues() });
  confirming = $state<string | null>(null);

  async load(): Promise<void> {
    await this.#run(async () => {
      this.profiles = (await api<{ profiles: SettingsProfile[] }>('GET', '/settings')).profiles;
    });
  }

  /** Starts the draft from a profile (to change it) or from nothing. */
  edit(profile?: SettingsProfile): void {
    const values = blankValues();
    for (const key of SETTING_KEYS) {
      const value = profile?.values[key];
      if (value !== undefined)
        values[key] = Array.isArray(value) ? value.join(', ') : String(value);
    }
    this.draft = {
      scope: profile?.scope ?? 'global',
      scopeValue: profile?.scope_value ?? '',
      priority: String(profile?.priority ?? 0),
      values,
    };
  }

  async save(): Promise<void> {
    const { scope, scopeValue, priority, values } = this.draft;
    const body = {
      scope,
      ...(scope !== 'global' ? { scope_value: scopeValue.trim() } : {}),
      ...(scope === 'tag' ? { priority: Number(priority) } : {}),
      values: Object.fromEntries(
        SETTING_KEYS.filter((key) => values[key].trim() !== '').map((key) => [
          key,
          typedValue(key, values[key].trim()),
        ]),
      ),
    };
    await this.#run(async () => {
      const saved = await api<SettingsProfile>('POST', '/settings', body);
      await this.load();
      this.notice = `Saved: ${profileName(saved)}. Its machines are told to sync.`;
    });
  }

  async remove(profile: SettingsProfile): Promise<void> {
    const path =
      profile.scope === 'global'
        ? '/settings/global'
        : `/settings/${profile.scope}/${encodeURIComponent(profile.scope_value ?? '')}`;
    await this.#run(async () => {
      await api('DELETE', path);
      this.confirming = null;
      await this.load();
      this.notice = `Removed: ${profileName(profile)}.`;
    });
  }

  async #run(work: () => Promise<void>): Promise<void> {
    this.error = '';
    try {
      await work();
    } catch (error) {
      this.notice = '';
      this.error = (error as Error).message;
    }
  }
}
