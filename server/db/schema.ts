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
}

export interface RulesTable {
  id: Generated<number>;
  identifier: string;
  rule_type: string;
  policy: string;
  custom_msg: string | null;
  custom_url: string | null;
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
}
