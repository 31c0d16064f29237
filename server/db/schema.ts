// The backend's tables, as Kysely sees them.
import type { Generated } from 'kysely';

export interface MachinesTable {
  machine_id: string;
  token_hash: string;
  serial_num: string | null;
  hostname: string | null;
  os_version: string | null;
  os_build: string | null;
  model_identifier: string | null;
  agent_version: string | null;
  primary_user: string | null;
  client_mode: string | null;
  rule_counts: string; // JSON
  rules_hash: string | null;
  enrolled_at: number;
  last_preflight_at: number | null;
  last_sync_at: number | null;
  /** The rule version this machine has acknowledged (postflight of its last completed sync). */
  acked_version: number;
  /** Set by preflight for the sync in progress. */
  sync_type: string | null;
  sync_version: number | null;
  /** A clean sync is owed until one completes. */
  clean_requested: number;
  /** JSON list of tag names. */
  tags: string;
  /** 'agent' (holds a token from enrollment) or 'fleet' (a stock client on the fleet credential). */
  identity: string;
  /** The serial the machine first reported; a preflight with another one is a conflict. */
  bound_serial: string | null;
  /** SHA-256 of the client certificate (DER, hex) bound to this machine, and its subject. */
  cert_fingerprint: string | null;
  cert_subject: string | null;
  /** SHA-256 of the agent's enrollment key: proof that a re-enrollment comes from the same install. */
  enroll_key_hash: string | null;
  /** Where the last accepted preflight of a fleet machine came from. */
  sync_address: string | null;
  /** JSON list of the tags the machine asked for; only an admin puts tags in force. */
  claimed_tags: string;
  /**
   * The primary user and tags the last completed sync resolved rules for (JSON); a machine whose
   * membership differs at preflight gets a clean sync. Null until its first sync after 008.
   */
  synced_membership: string | null;
  /** The rule version of the last completed clean sync: count drift asks for one clean per version. */
  clean_version: number | null;
  /**
   * SHA-256 of the sync token (Santa's XSRF token) the last accepted preflight of a fleet machine
   * carried: its other stages must carry the same one, unless a bound certificate speaks for it.
   */
  sync_token_hash: string | null;
  /** An admin ordered a CLEAN_ALL sync (transitive rules go too) until one completes. */
  clean_all_requested: number;
}

export interface RulesTable {
  id: Generated<number>;
  identifier: string;
  rule_type: string;
  policy: string;
  custom_msg: string | null;
  custom_url: string | null;
  /** For policy CEL: the expression Santa evaluates at each launch. */
  cel_expr: string | null;
  /** The block dialog's button text for this rule (Santa: at most 48 characters). */
  event_detail_button_label: string | null;
  /** Santa shows "<name> can now be run" when this rule arrives in a normal sync. */
  notification_app_name: string | null;
  scope: string; // 'global' | 'machine' | 'user' | 'tag'
  scope_value: string | null;
  expires_at: number | null;
  comment: string | null;
  created_by: string;
  created_at: number;
  deleted: number;
  /** Bumped on every change, from one sequence: what a machine has not yet seen is version > acked. */
  version: number;
}

export interface EventsTable {
  id: Generated<number>;
  machine_id: string;
  file_sha256: string;
  file_path: string;
  file_name: string;
  executing_user: string | null;
  execution_time: number;
  decision: string;
  pid: number | null;
  ppid: number | null;
  parent_name: string | null;
  logged_in_users: string;
  current_sessions: string;
  received_at: number;
}

export interface BinariesTable {
  sha256: string;
  file_name: string;
  file_path: string;
  first_seen: number;
  last_seen: number;
  block_count: number;
  /** The leaf certificate's common name and organization, when the agent sent a signing chain. */
  signer: Generated<string | null>;
  team_id: Generated<string | null>;
  signing_id: Generated<string | null>;
  /** The package that installed the file (name and version), when the agent knows it. */
  package: Generated<string | null>;
  file_size: Generated<number | null>;
}

/** What a limit counted in the current window, per key (db/limits.ts). */
export interface LimitCountsTable {
  key: string;
  count: number;
  window_start: number;
}

/** What each machine last said of a binary's origin (db/events.ts): claims, never verified. */
export interface BinaryReportsTable {
  sha256: string;
  machine_id: string;
  signer: string | null;
  team_id: string | null;
  signing_id: string | null;
  package: string | null;
  file_size: number | null;
  reported_at: number;
}

export interface CountersTable {
  name: string;
  value: number;
}

export interface ApprovalRequestsTable {
  id: Generated<number>;
  machine_id: string;
  client_request_id: string;
  requester: string;
  file_sha256: string;
  file_path: string;
  file_name: string;
  decision: string;
  execution_time: number | null;
  justification: string;
  state: string; // pending | approved | denied | needs-info
  rule_id: number | null;
  decided_by: string | null;
  created_at: number;
  updated_at: number;
}

export interface RequestMessagesTable {
  id: Generated<number>;
  request_id: number;
  author: string; // user | helpdesk
  author_name: string;
  body: string;
  created_at: number;
}

/** Appended to, never updated or deleted: no API does either. */
export interface AuditLogTable {
  id: Generated<number>;
  at: number;
  actor: string;
  action: string;
  target: string;
  details: string;
}

export interface UsersTable {
  id: Generated<number>;
  username: string;
  password_hash: string;
  role: string; // viewer | helpdesk | admin
  created_at: number;
}

export interface SessionsTable {
  id_hash: string;
  user_id: number;
  csrf_token: string;
  created_at: number;
  expires_at: number;
}

/** The latest result of each posture check on each machine. */
export interface MachinePostureTable {
  machine_id: string;
  check_id: string;
  /** Where the machine listed the check, so its results read in the agent's order. */
  position: number;
  title: string;
  status: string; // pass | fail | unknown
  evidence: string;
  remediation: string;
  checked_at: number;
  received_at: number;
}

/** A sign-in in progress at the identity provider (plugins/oidc.ts). */
export interface SsoFlowsTable {
  id_hash: string;
  app: string; // console | portal
  state: string;
  nonce: string;
  code_verifier: string;
  return_to: string;
  expires_at: number;
}

/** A session of someone signed in through the identity provider. */
export interface SsoSessionsTable {
  id_hash: string;
  app: string; // console | portal
  issuer: string;
  subject: string;
  /** Console: the name shown and audited; portal: the user name the claims map to. */
  username: string;
  role: string | null; // console only: viewer | helpdesk | admin
  csrf_token: string;
  created_at: number;
  expires_at: number;
}

/** A machine id claimed by something other than what it is bound to, until an admin decides. */
export interface EnrollmentConflictsTable {
  id: Generated<number>;
  machine_id: string;
  /** 'agent-reenroll' | 'fleet-mismatch' | 'agent-id' (the fleet credential used on an agent's id). */
  kind: string;
  state: string; // pending | approved | rejected | used
  reason: string;
  claimed_serial: string | null;
  claimed_cert: string | null;
  claimed_cert_subject: string | null;
  claim_key_hash: string | null;
  /** JSON: hostname, primary user, tags and the like, as claimed. */
  claims: string;
  address: string;
  attempts: number;
  created_at: number;
  last_seen_at: number;
  decided_by: string | null;
  decided_at: number | null;
}

/** Preflight settings for the fleet (scope_value ''), a tag or a machine (db/settings.ts). */
export interface SettingsProfilesTable {
  scope: string; // global | tag | machine
  scope_value: string;
  priority: number;
  /** JSON object of Santa's PreflightResponse keys, checked before it is stored. */
  settings: string;
  updated_by: string;
  updated_at: number;
}

/** A file access (FAA) event a Santa client uploaded; the newest are kept per machine. */
export interface FileAccessEventsTable {
  id: Generated<number>;
  machine_id: string;
  rule_name: string;
  rule_version: string;
  target: string;
  decision: string;
  access_time: number;
  /** JSON list of processes, the accessing one first. */
  process_chain: string;
  received_at: number;
}

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  approval_requests: ApprovalRequestsTable;
  request_messages: RequestMessagesTable;
  audit_log: AuditLogTable;
  machines: MachinesTable;
  rules: RulesTable;
  events: EventsTable;
  binaries: BinariesTable;
  counters: CountersTable;
  machine_posture: MachinePostureTable;
  settings_profiles: SettingsProfilesTable;
  file_access_events: FileAccessEventsTable;
  enrollment_conflicts: EnrollmentConflictsTable;
  sso_flows: SsoFlowsTable;
  sso_sessions: SsoSessionsTable;
  limit_counts: LimitCountsTable;
  binary_reports: BinaryReportsTable;
}
