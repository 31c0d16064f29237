// What the console API returns, as the pages use it.
export type Role = 'viewer' | 'helpdesk' | 'admin';

export interface Me {
  username: string;
  role: Role;
  csrfToken: string;
}

export interface RequestSummary {
  id: number;
  machine_id: string;
  hostname: string | null;
  requester: string;
  file_name: string;
  file_path: string;
  file_sha256: string;
  justification: string;
  state: string;
  decided_by: string | null;
  created_at: number;
  updated_at: number;
}

export interface Machine {
  machine_id: string;
  serial_num: string | null;
  hostname: string | null;
  os_version: string | null;
  os_build: string | null;
  model_identifier: string | null;
  agent_version: string | null;
  primary_user: string | null;
  client_mode: string | null;
  rule_counts: Record<string, number>;
  rule_total: number;
  enrolled_at: number;
  last_sync_at: number | null;
  tags: string[];
}

export interface Rule {
  id: number;
  identifier: string;
  rule_type: string;
  policy: string;
  scope: string;
  scope_value: string | null;
  expires_at: number | null;
  custom_msg: string | null;
  custom_url: string | null;
  comment: string | null;
  created_by: string;
  created_at: number;
}

export interface Binary {
  sha256: string;
  first_seen: number;
  last_seen: number;
  block_count: number;
  signer: string | null;
  team_id: string | null;
  signing_id: string | null;
  package: string | null;
  file_size: number | null;
}

export interface EarlierRequest {
  id: number;
  state: string;
  machine_id: string;
  hostname: string | null;
  requester: string;
  decided_by: string | null;
  created_at: number;
  updated_at: number;
  rule_scope: string | null;
  rule_scope_value: string | null;
  rule_expires_at: number | null;
}

export interface RequestDetail {
  request: RequestSummary;
  messages: { id: number; author: string; author_name: string; body: string; created_at: number }[];
  prevalence: number;
  binary: Binary | null;
  machine: Machine | null;
  earlier: EarlierRequest[];
  rules: Rule[];
}

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  action: string;
  target: string;
  details: Record<string, unknown>;
}

export interface Block {
  id: number;
  file_sha256: string;
  file_name: string;
  file_path: string;
  executing_user: string | null;
  execution_time: number;
  decision: string;
  parent_name: string | null;
}

export interface MachineDetail {
  machine: Machine;
  rules: Rule[];
  blocks: Block[];
  requests: {
    id: number;
    state: string;
    requester: string;
    file_name: string;
    file_sha256: string;
    decided_by: string | null;
    created_at: number;
  }[];
}
