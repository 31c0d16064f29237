// What the sync server's preflight set, kept in the database as Santa keeps its sync state, so
// that a restart keeps the server's word until it says otherwise. Each value is checked again when
// read: a row a damaged disk or an older version wrote is left out, never trusted.
import type { Db } from './database';

export interface ServerSettings {
  readonly enableTransitiveRules?: boolean;
  readonly enableAllEventUpload?: boolean;
  /** The Open button's URL template; 'null' (Santa's word) when the server said there is none. */
  readonly eventDetailUrl?: string;
  readonly eventDetailText?: string;
  readonly fullSyncIntervalS?: number;
}

type Name = keyof ServerSettings;

const CHECKS: Record<Name, (value: unknown) => boolean> = {
  enableTransitiveRules: (value) => typeof value === 'boolean',
  enableAllEventUpload: (value) => typeof value === 'boolean',
  eventDetailUrl: (value) => typeof value === 'string',
  eventDetailText: (value) => typeof value === 'string',
  fullSyncIntervalS: (value) => typeof value === 'number' && Number.isInteger(value) && value > 0,
};

export class SettingsStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  load(): ServerSettings {
    const settings: Record<string, unknown> = {};
    for (const { name, value } of this.#db
      .prepare('SELECT name, value FROM server_settings')
      .all() as { name: string; value: string }[]) {
      if (!Object.hasOwn(CHECKS, name)) continue;
      try {
        const parsed: unknown = JSON.parse(value);
        if (CHECKS[name as Name](parsed)) settings[name] = parsed;
      } catch {
        // Unreadable: as if never sent.
      }
    }
    return settings as ServerSettings;
  }

  /** Stores the settings given (the others stay as they were), in one transaction. */
  save(settings: ServerSettings): void {
    const put = this.#db.prepare(
      'INSERT INTO server_settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
    );
    this.#db.transaction(() => {
      for (const [name, value] of Object.entries(settings))
        if (value !== undefined) put.run(name, JSON.stringify(value));
    })();
  }
}
