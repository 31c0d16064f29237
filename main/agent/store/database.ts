// The agent's SQLite database (better-sqlite3, WAL) in StateDir. Migrations are frozen: append a
// new one, never edit an old one.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE rules (
     rule_type   TEXT NOT NULL,
     identifier  TEXT NOT NULL,
     policy      TEXT NOT NULL,
     custom_msg  TEXT,
     custom_url  TEXT,
     comment     TEXT,
     source      TEXT NOT NULL CHECK (source IN ('sync', 'local')),
     expires_at  INTEGER,
     created_at  INTEGER NOT NULL,
     PRIMARY KEY (rule_type, identifier)
   ) WITHOUT ROWID;
   CREATE INDEX rules_expiry ON rules (expires_at) WHERE expires_at IS NOT NULL;
   CREATE TABLE events (
     id               INTEGER PRIMARY KEY,
     file_sha256      TEXT NOT NULL,
     file_path        TEXT NOT NULL,
     file_name        TEXT NOT NULL,
     executing_user   TEXT,
     uid              INTEGER NOT NULL,
     execution_time   REAL NOT NULL,
     last_seen        REAL NOT NULL,
     occurrences      INTEGER NOT NULL DEFAULT 1,
     pid              INTEGER,
     ppid             INTEGER,
     parent_name      TEXT,
     decision         TEXT NOT NULL,
     logged_in_users  TEXT NOT NULL DEFAULT '[]',
     current_sessions TEXT NOT NULL DEFAULT '[]',
     file_size        INTEGER,
     package          TEXT,
     uploaded         INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX events_by_uid ON events (uid, id);
   CREATE INDEX events_dedupe ON events (file_sha256, uid, decision, last_seen);
   CREATE TABLE requests (
     id            INTEGER PRIMARY KEY,
     event_id      INTEGER NOT NULL REFERENCES events (id),
     uid           INTEGER NOT NULL,
     justification TEXT NOT NULL,
     state         TEXT NOT NULL DEFAULT 'queued',
     server_id     TEXT,
     created_at    REAL NOT NULL,
     updated_at    REAL NOT NULL
   );
   CREATE INDEX requests_by_uid ON requests (uid, id);
   CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;`,
  `ALTER TABLE requests ADD COLUMN messages TEXT NOT NULL DEFAULT '[]';`,
  // Why a decision is not simply the rules' outcome (the deadline, a file too large to hash, a
  // file written while it was decided); file_sha256 is '' when the file was never hashed.
  `ALTER TABLE events ADD COLUMN reason TEXT;`,
  // A user's request for an event is looked up before another is made for it.
  `CREATE INDEX requests_by_event ON requests (event_id, uid);`,
  // ALLOW_TRANSITIVE: the compiler that wrote the file ("built here by" in the menu bar).
  `ALTER TABLE events ADD COLUMN built_by TEXT;`,
  // Every field of Santa's rule: policy now holds Santa's name (CEL and the silent GUI/TTY blocks
  // too; the exec path enforces common/policy.ts execPolicy of it). server_settings keeps what the
  // sync server's preflight set (Santa's sync state), so that a restart keeps it.
  `ALTER TABLE rules ADD COLUMN cel_expr TEXT;
   ALTER TABLE rules ADD COLUMN event_detail_button_label TEXT;
   ALTER TABLE rules ADD COLUMN notification_app_name TEXT;
   CREATE TABLE server_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;`,
];

export function openDatabase(stateDir: string, file = 'gatehouse.db'): Db {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const db = new Database(join(stateDir, file));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new Error(
      `store: ${join(stateDir, file)} was written by a newer Gatehouse (schema ${version}, this one knows ${MIGRATIONS.length}); upgrade Gatehouse`,
    );
  }
  db.transaction(() => {
    for (let next = version; next < MIGRATIONS.length; next++) {
      db.exec(MIGRATIONS[next]!);
      db.pragma(`user_version = ${next + 1}`);
    }
  })();
  return db;
}
