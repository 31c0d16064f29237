// Frozen in time: add a migration, never edit one that has shipped.
import {
  PostgresAdapter,
  sql,
  type ColumnDefinitionBuilder,
  type Kysely,
  type Migration,
  type MigrationProvider,
} from 'kysely';

/** An auto-numbered primary key, spelled as each engine wants it. */
function serialId(
  db: Kysely<unknown>,
): ['integer' | 'serial', (column: ColumnDefinitionBuilder) => ColumnDefinitionBuilder] {
  return db.getExecutor().adapter instanceof PostgresAdapter
    ? ['serial', (column) => column.primaryKey()]
    : ['integer', (column) => column.primaryKey().autoIncrement()];
}

// 001's first table, apart only to keep 001 readable: the statement is unchanged.
async function createMachines(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('machines')
    .addColumn('machine_id', 'text', (c) => c.primaryKey())
    .addColumn('token_hash', 'text', (c) => c.notNull())
    .addColumn('serial_num', 'text')
    .addColumn('hostname', 'text')
    .addColumn('os_version', 'text')
    .addColumn('os_build', 'text')
    .addColumn('model_identifier', 'text')
    .addColumn('agent_version', 'text')
    .addColumn('primary_user', 'text')
    .addColumn('client_mode', 'text')
    .addColumn('rule_counts', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('rules_hash', 'text')
    .addColumn('enrolled_at', 'bigint', (c) => c.notNull())
    .addColumn('last_preflight_at', 'bigint')
    .addColumn('last_sync_at', 'bigint')
    .addColumn('acked_version', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('sync_type', 'text')
    .addColumn('sync_version', 'bigint')
    .addColumn('clean_requested', 'integer', (c) => c.notNull().defaultTo(1))
    .execute();
}

const migrations: Record<string, Migration> = {
  '001_sync': {
    async up(db: Kysely<unknown>) {
      await createMachines(db);
      await db.schema
        .createTable('rules')
        .addColumn('id', ...serialId(db))
        .addColumn('identifier', 'text', (c) => c.notNull())
        .addColumn('rule_type', 'text', (c) => c.notNull())
        .addColumn('policy', 'text', (c) => c.notNull())
        .addColumn('custom_msg', 'text')
        .addColumn('custom_url', 'text')
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('scope_value', 'text')
        .addColumn('expires_at', 'bigint')
        .addColumn('comment', 'text')
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('version', 'bigint', (c) => c.notNull().unique())
        .execute();
      await db.schema
        .createIndex('rules_target')
        .on('rules')
        .columns(['rule_type', 'identifier', 'scope', 'scope_value'])
        .execute();
      await db.schema
        .createTable('events')
        .addColumn('id', ...serialId(db))
        .addColumn('machine_id', 'text', (c) => c.notNull())
        .addColumn('file_sha256', 'text', (c) => c.notNull())
        .addColumn('file_path', 'text', (c) => c.notNull())
        .addColumn('file_name', 'text', (c) => c.notNull())
        .addColumn('executing_user', 'text')
        .addColumn('execution_time', 'double precision', (c) => c.notNull())
        .addColumn('decision', 'text', (c) => c.notNull())
        .addColumn('pid', 'integer')
        .addColumn('ppid', 'integer')
        .addColumn('parent_name', 'text')
        .addColumn('logged_in_users', 'text', (c) => c.notNull())
        .addColumn('current_sessions', 'text', (c) => c.notNull())
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .execute();
      // A resubmitted event is the same event: ingestion is idempotent.
      await db.schema
        .createIndex('events_identity')
        .on('events')
        .columns(['machine_id', 'file_sha256', 'execution_time', 'pid', 'decision'])
        .unique()
        .execute();
      await db.schema
        .createTable('binaries')
        .addColumn('sha256', 'text', (c) => c.primaryKey())
        .addColumn('file_name', 'text', (c) => c.notNull())
        .addColumn('file_path', 'text', (c) => c.notNull())
        .addColumn('first_seen', 'double precision', (c) => c.notNull())
        .addColumn('last_seen', 'double precision', (c) => c.notNull())
        .addColumn('block_count', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .createTable('counters')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'bigint', (c) => c.notNull())
        .execute();
      await sql`INSERT INTO counters (name, value) VALUES ('rule_version', 0)`.execute(db);
    },
  },
  '002_requests_audit': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('approval_requests')
        .addColumn('id', ...serialId(db))
        .addColumn('machine_id', 'text', (c) => c.notNull())
        .addColumn('client_request_id', 'text', (c) => c.notNull())
        .addColumn('requester', 'text', (c) => c.notNull())
        .addColumn('file_sha256', 'text', (c) => c.notNull())
        .addColumn('file_path', 'text', (c) => c.notNull())
        .addColumn('file_name', 'text', (c) => c.notNull())
        .addColumn('decision', 'text', (c) => c.notNull())
        .addColumn('execution_time', 'double precision')
        .addColumn('justification', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('rule_id', 'integer')
        .addColumn('decided_by', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      // A request resubmitted after a lost answer is the same request.
      await db.schema
        .createIndex('requests_client_id')
        .on('approval_requests')
        .columns(['machine_id', 'client_request_id'])
        .unique()
        .execute();
      await db.schema
        .createIndex('requests_state')
        .on('approval_requests')
        .columns(['state', 'created_at'])
        .execute();
      await db.schema
        .createTable('request_messages')
        .addColumn('id', ...serialId(db))
        .addColumn('request_id', 'integer', (c) => c.notNull())
        .addColumn('author', 'text', (c) => c.notNull())
        .addColumn('author_name', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('audit_log')
        .addColumn('id', ...serialId(db))
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('details', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '003_console': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('users')
        .addColumn('id', ...serialId(db))
        .addColumn('username', 'text', (c) => c.notNull().unique())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('sessions')
        .addColumn('id_hash', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'integer', (c) => c.notNull())
        .addColumn('csrf_token', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  '004_rule_expiry_index': {
    async up(db: Kysely<unknown>) {
      // Every preflight looks for expired rules: an index keeps that a lookup, not a scan.
      await db.schema
        .createIndex('rules_expiry')
        .on('rules')
        .columns(['deleted', 'expires_at'])
        .execute();
    },
  },
  '005_machine_tags': {
    async up(db: Kysely<unknown>) {
      // JSON list of tag names; a tag-scoped rule reaches every machine that carries the tag.
      await db.schema
        .alterTable('machines')
        .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
        .execute();
    },
  },
  '006_console': {
    async up(db: Kysely<unknown>) {
      // What a binary is and who made it, as agents report it: a signer (Santa's signing chain,
      // team and signing ids) or the package that installed it.
      // One column per statement: SQLite adds one at a time.
      for (const column of ['signer', 'team_id', 'signing_id', 'package'])
        await db.schema.alterTable('binaries').addColumn(column, 'text').execute();
      await db.schema.alterTable('binaries').addColumn('file_size', 'bigint').execute();
      // The console's lookups: earlier requests for a file, the audit log by time and by target.
      await db.schema
        .createIndex('requests_file')
        .on('approval_requests')
        .columns(['file_sha256', 'id'])
        .execute();
      await db.schema.createIndex('audit_at').on('audit_log').columns(['at']).execute();
      await db.schema.createIndex('audit_target').on('audit_log').columns(['target']).execute();
      // Prevalence (distinct machines per file) on every request detail.
      await db.schema
        .createIndex('events_file')
        .on('events')
        .columns(['file_sha256', 'machine_id'])
        .execute();
      await db.schema
        .createIndex('events_machine_time')
        .on('events')
        .columns(['machine_id', 'execution_time'])
        .execute();
    },
  },
  '007_posture': {
    async up(db: Kysely<unknown>) {
      // The latest result of each posture check on each machine; a delivery replaces them all.
      await db.schema
        .createTable('machine_posture')
        .addColumn('machine_id', 'text', (c) => c.notNull())
        .addColumn('check_id', 'text', (c) => c.notNull())
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('evidence', 'text', (c) => c.notNull())
        .addColumn('remediation', 'text', (c) => c.notNull())
        .addColumn('checked_at', 'bigint', (c) => c.notNull())
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('machine_posture_pk', ['machine_id', 'check_id'])
        .execute();
      await db.schema
        .createIndex('machine_posture_check')
        .on('machine_posture')
        .columns(['check_id', 'status'])
        .execute();
    },
  },
  '012_sso': {
    async up(db: Kysely<unknown>) {
      // A sign-in in progress at the identity provider: the state, nonce and PKCE verifier the
      // callback must match, found by a hash of the browser's flow cookie; used once.
      await db.schema
        .createTable('sso_flows')
        .addColumn('id_hash', 'text', (c) => c.primaryKey())
        .addColumn('app', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('nonce', 'text', (c) => c.notNull())
        .addColumn('code_verifier', 'text', (c) => c.notNull())
        .addColumn('return_to', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('sso_flows_expiry')
        .on('sso_flows')
        .column('expires_at')
        .execute();
      // Sessions of people signed in through the identity provider: console (with the role their
      // groups map to) or portal (with the user name their claims map to).
      await db.schema
        .createTable('sso_sessions')
        .addColumn('id_hash', 'text', (c) => c.primaryKey())
        .addColumn('app', 'text', (c) => c.notNull())
        .addColumn('issuer', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('username', 'text', (c) => c.notNull())
        .addColumn('role', 'text')
        .addColumn('csrf_token', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('sso_sessions_expiry')
        .on('sso_sessions')
        .column('expires_at')
        .execute();
    },
  },
  '009_machine_identity': {
    async up(db: Kysely<unknown>) {
      // What a machine is bound to, so that the fleet secret alone cannot take its id over: an
      // agent's enrollment key (its hash), the serial and client certificate a stock client
      // first came with, and the address of its last preflight. Claimed tags are kept apart
      // from the tags in force, which an admin sets.
      const machine = () => db.schema.alterTable('machines');
      await machine()
        .addColumn('identity', 'text', (c) => c.notNull().defaultTo('agent'))
        .execute();
      for (const column of ['bound_serial', 'cert_fingerprint', 'cert_subject', 'enroll_key_hash'])
        await machine().addColumn(column, 'text').execute();
      await machine().addColumn('sync_address', 'text').execute();
      await machine()
        .addColumn('claimed_tags', 'text', (c) => c.notNull().defaultTo('[]'))
        .execute();
      // One certificate speaks for one machine.
      await db.schema
        .createIndex('machines_cert')
        .unique()
        .on('machines')
        .column('cert_fingerprint')
        .execute();
      const [idType, idColumn] = serialId(db);
      await db.schema
        .createTable('enrollment_conflicts')
        .addColumn('id', idType, idColumn)
        .addColumn('machine_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('claimed_serial', 'text')
        .addColumn('claimed_cert', 'text')
        .addColumn('claimed_cert_subject', 'text')
        .addColumn('claim_key_hash', 'text')
        .addColumn('claims', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('address', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
        .addColumn('decided_by', 'text')
        .addColumn('decided_at', 'bigint')
        .execute();
      await db.schema
        .createIndex('enrollment_conflicts_machine')
        .on('enrollment_conflicts')
        .columns(['machine_id', 'state'])
        .execute();
      await db.schema
        .createIndex('enrollment_conflicts_state')
        .on('enrollment_conflicts')
        .columns(['state', 'id'])
        .execute();
    },
  },
  '010_settings_profiles': {
    async up(db: Kysely<unknown>) {
      // Preflight settings for the fleet, a tag or a machine. The global profile's scope_value
      // is '' rather than NULL so that (scope, scope_value) can be the primary key on both
      // engines.
      await db.schema
        .createTable('settings_profiles')
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('scope_value', 'text', (c) => c.notNull())
        .addColumn('priority', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('settings', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('settings_profiles_pk', ['scope', 'scope_value'])
        .execute();
      // File access events Santa uploads beside execution events, kept per machine up to a bound.
      const [idType, idColumn] = serialId(db);
      await db.schema
        .createTable('file_access_events')
        .addColumn('id', idType, idColumn)
        .addColumn('machine_id', 'text', (c) => c.notNull())
        .addColumn('rule_name', 'text', (c) => c.notNull())
        .addColumn('rule_version', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('decision', 'text', (c) => c.notNull())
        .addColumn('access_time', 'double precision', (c) => c.notNull())
        .addColumn('process_chain', 'text', (c) => c.notNull())
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('file_access_events_machine')
        .on('file_access_events')
        .columns(['machine_id', 'id'])
        .execute();
    },
  },
  '008_rule_fields': {
    async up(db: Kysely<unknown>) {
      // Santa's rule texts the console took no room for. One column per statement: SQLite adds
      // one at a time.
      for (const column of ['cel_expr', 'event_detail_button_label', 'notification_app_name'])
        await db.schema.alterTable('rules').addColumn(column, 'text').execute();
      // What the last completed sync resolved rules for, and its last clean sync's version.
      await db.schema.alterTable('machines').addColumn('synced_membership', 'text').execute();
      await db.schema.alterTable('machines').addColumn('clean_version', 'bigint').execute();
      // A machine's own, its user's and its tags' rules, for the drift check. On scope_value
      // alone: an index that also served `scope = 'global'` would lead SQLite to read every
      // global rule and sort it on each page of a sync instead of walking versions.
      await db.schema.createIndex('rules_scope_value').on('rules').column('scope_value').execute();
    },
  },
  '011_limits': {
    async up(db: Kysely<unknown>) {
      // Counts for the limits a caller can be refused by (console logins, a machine's events),
      // shared by every server process: one row per key, counted with an atomic upsert, pruned
      // once its window has passed (db/limits.ts).
      await db.schema
        .createTable('limit_counts')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('window_start', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('limit_counts_window')
        .on('limit_counts')
        .column('window_start')
        .execute();
      // Each machine's own claim of a binary's origin, so that the catalog can say who said
      // what and where machines disagree.
      await db.schema
        .createTable('binary_reports')
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('machine_id', 'text', (c) => c.notNull())
        .addColumn('signer', 'text')
        .addColumn('team_id', 'text')
        .addColumn('signing_id', 'text')
        .addColumn('package', 'text')
        .addColumn('file_size', 'bigint')
        .addColumn('reported_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('binary_reports_pk', ['sha256', 'machine_id'])
        .execute();
      // A machine's requests in the last hour, counted on every new request.
      await db.schema
        .createIndex('requests_machine_time')
        .on('approval_requests')
        .columns(['machine_id', 'created_at'])
        .execute();
    },
  },
  '013_machine_binding': {
    async up(db: Kysely<unknown>) {
      // A stock Santa client's sync session: the hash of the token (Santa's XSRF token) its last
      // accepted preflight carried, which every later stage of a machine bound by its serial
      // must carry too. And a console order for a CLEAN_ALL sync (rules the Mac made go too).
      await db.schema.alterTable('machines').addColumn('sync_token_hash', 'text').execute();
      await db.schema
        .alterTable('machines')
        .addColumn('clean_all_requested', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
  '014_sync_indexes': {
    async up(db: Kysely<unknown>) {
      // PostgreSQL keeps no statistics for an expression unless told to, and guesses that
      // `deleted + 0 = 0` (how db/rules.ts hides `deleted` from SQLite's planner) holds for 0.5%
      // of rows: a clean sync's early pages then read and sort every later version instead of
      // walking the version index. Expression statistics arrived in PostgreSQL 14.
      if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
      const { rows } = await sql<{
        version: number;
      }>`SELECT current_setting('server_version_num')::int AS version`.execute(db);
      if (Number(rows[0]?.version ?? 0) < 140000) return;
      await sql`CREATE STATISTICS rules_sync_expressions ON (deleted + 0), (version + 0) FROM rules`.execute(
        db,
      );
    },
  },
  '015_settings_version': {
    async up(db: Kysely<unknown>) {
      // Bumped with every change to a settings profile, in the same transaction: a server process
      // keeps each machine's preflight settings until it reads another value (db/settings.ts).
      await sql`INSERT INTO counters (name, value) VALUES ('settings_version', 0)`.execute(db);
    },
  },
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
