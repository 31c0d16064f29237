// The console API's wire types, as TypeBox schemas: the routes under routes/console/ validate and
// serialize their answers with them, and the console imports their Static types (type-only, so no
// server code reaches its bundle). Change a field here and both sides follow. Only `typebox`, the
// schemas beside this file and types from common/ may be imported here: the console's type check
// reads them too.
//
// Objects built by spreading a database row keep additionalProperties, so a column the console
// does not read yet is still sent, as before these schemas.
import { Type, type Static } from 'typebox';
import type { PostureResult as PostureResultType } from '../../common/posture';
import { Failure } from './failure';
import { MachineNameFields, Nullable, Page, santaRuleOptions, SigningClaimFields } from './shared';

export { Failure };

const Open = { additionalProperties: true };

export const Role = Type.Union([
  Type.Literal('viewer'),
  Type.Literal('helpdesk'),
  Type.Literal('admin'),
]);
export type Role = Static<typeof Role>;

export const Me = Type.Object({ username: Type.String(), role: Role, csrfToken: Type.String() });
export type Me = Static<typeof Me>;

/** One approval request as stored; the queue adds the machine's host name (RequestSummary). */
export const ApprovalRequest = Type.Object(
  {
    id: Type.Number(),
    machine_id: Type.String(),
    requester: Type.String(),
    file_name: Type.String(),
    file_path: Type.String(),
    file_sha256: Type.String(),
    justification: Type.String(),
    state: Type.String(),
    decided_by: Nullable(Type.String()),
    created_at: Type.Number(),
    updated_at: Type.Number(),
  },
  Open,
);
export type ApprovalRequest = Static<typeof ApprovalRequest>;

export const RequestSummary = Type.Object(
  { ...ApprovalRequest.properties, hostname: Nullable(Type.String()) },
  Open,
);
export type RequestSummary = Static<typeof RequestSummary>;

export const RequestList = Page('requests', RequestSummary);

export const Machine = Type.Object(
  {
    machine_id: Type.String(),
    serial_num: Nullable(Type.String()),
    hostname: Nullable(Type.String()),
    os_version: Nullable(Type.String()),
    os_build: Nullable(Type.String()),
    model_identifier: Nullable(Type.String()),
    agent_version: Nullable(Type.String()),
    primary_user: Nullable(Type.String()),
    client_mode: Nullable(Type.String()),
    rule_counts: Type.Record(Type.String(), Type.Number()),
    rule_total: Type.Number(),
    enrolled_at: Type.Number(),
    last_sync_at: Nullable(Type.Number()),
    tags: Type.Array(Type.String()),
    /** A clean sync is owed at the machine's next sync (ordered, or its first). */
    clean_sync_pending: Type.Optional(Type.Boolean()),
    /** The clean sync ordered is Santa's CLEAN_ALL: the machine's own (transitive) rules go too. */
    clean_all_pending: Type.Optional(Type.Boolean()),
  },
  Open,
);
export type Machine = Static<typeof Machine>;

export const CleanSyncOrder = Type.Object({
  clean_sync_pending: Type.Literal(true),
  clean_all_pending: Type.Boolean(),
});

export const MachineList = Page('machines', Machine);

export const Rule = Type.Object({
  id: Type.Number(),
  identifier: Type.String(),
  rule_type: Type.String(),
  policy: Type.String(),
  scope: Type.String(),
  scope_value: Nullable(Type.String()),
  expires_at: Nullable(Type.Number()),
  ...santaRuleOptions(Nullable),
  comment: Nullable(Type.String()),
  created_by: Type.String(),
  created_at: Type.Number(),
});
export type Rule = Static<typeof Rule>;

/** A rule that reaches a machine; shadowed_by names the rule the machine holds instead. */
export const ReachingRule = Type.Object({
  ...Rule.properties,
  shadowed_by: Nullable(Type.Number()),
});
export type ReachingRule = Static<typeof ReachingRule>;

export const RuleList = Page('rules', Rule);

/** What machines said of one field of a binary's origin: each value and how many said it. */
const Reported = Type.Array(Type.Object({ value: Type.String(), machines: Type.Number() }));

/** Claims, never verified: more than one value for a field means machines disagree. */
export const Provenance = Type.Object({
  machines: Type.Number(),
  signer: Reported,
  team_id: Reported,
  signing_id: Reported,
  package: Reported,
  file_size: Reported,
});
export type Provenance = Static<typeof Provenance>;

export const Binary = Type.Object(
  {
    sha256: Type.String(),
    provenance: Provenance,
    first_seen: Type.Number(),
    last_seen: Type.Number(),
    block_count: Type.Number(),
    ...SigningClaimFields,
    file_size: Nullable(Type.Number()),
  },
  Open,
);
export type Binary = Static<typeof Binary>;

export const EarlierRequest = Type.Object({
  id: Type.Number(),
  state: Type.String(),
  ...MachineNameFields,
  requester: Type.String(),
  decided_by: Nullable(Type.String()),
  created_at: Type.Number(),
  updated_at: Type.Number(),
  rule_scope: Nullable(Type.String()),
  rule_scope_value: Nullable(Type.String()),
  rule_expires_at: Nullable(Type.Number()),
});
export type EarlierRequest = Static<typeof EarlierRequest>;

export const RequestMessage = Type.Object(
  {
    id: Type.Number(),
    author: Type.String(),
    author_name: Type.String(),
    body: Type.String(),
    created_at: Type.Number(),
  },
  Open,
);

export const RequestDetail = Type.Object({
  request: ApprovalRequest,
  messages: Type.Array(RequestMessage),
  prevalence: Type.Number(),
  binary: Nullable(Binary),
  machine: Nullable(Machine),
  earlier: Type.Array(EarlierRequest),
  rules: Type.Array(Rule),
});
export type RequestDetail = Static<typeof RequestDetail>;

export const AuditEntry = Type.Object({
  id: Type.Number(),
  at: Type.Number(),
  actor: Type.String(),
  action: Type.String(),
  target: Type.String(),
  details: Type.Record(Type.String(), Type.Unknown()),
});
export type AuditEntry = Static<typeof AuditEntry>;

export const AuditPage = Type.Object({
  entries: Type.Array(AuditEntry),
  next: Nullable(Type.Number()),
});

export const Block = Type.Object({
  id: Type.Number(),
  file_sha256: Type.String(),
  file_name: Type.String(),
  file_path: Type.String(),
  executing_user: Nullable(Type.String()),
  execution_time: Type.Number(),
  decision: Type.String(),
  parent_name: Nullable(Type.String()),
});
export type Block = Static<typeof Block>;

export const MachineRequest = Type.Object({
  id: Type.Number(),
  state: Type.String(),
  requester: Type.String(),
  file_name: Type.String(),
  file_sha256: Type.String(),
  decided_by: Nullable(Type.String()),
  created_at: Type.Number(),
  updated_at: Type.Number(),
});

export const MachineDetail = Type.Object({
  machine: Machine,
  rules: Type.Array(ReachingRule),
  blocks: Type.Array(Block),
  /** Programs this machine's compilers built that ran on a transitive rule (ALLOW_TRANSITIVE). */
  built: Type.Array(Block),
  requests: Type.Array(MachineRequest),
});
export type MachineDetail = Static<typeof MachineDetail>;

export const IdParams = Type.Object({ id: Type.String() });

/** Lengths are bounded here, before the login limit counts anything or argon2 runs. */
export const Login = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 128 }),
  password: Type.String({ minLength: 1, maxLength: 1024 }),
});

/** expires and message are checked in the route, whose refusals say what a date must look like. */
export const Approval = Type.Object({
  scope: Type.Enum(['machine', 'user', 'global']),
  expires: Type.Optional(Type.Unknown()),
  message: Type.Optional(Type.Unknown()),
});

export const PostureQuery = Type.Object({ status: Type.Enum(['pass', 'fail', 'unknown']) });
export const CheckParams = Type.Object({ check: Type.String() });

export const CheckSummary = Type.Object({
  id: Type.String(),
  title: Type.String(),
  pass: Type.Number(),
  fail: Type.Number(),
  unknown: Type.Number(),
});
export type CheckSummary = Static<typeof CheckSummary>;

export const FleetSummary = Type.Object({
  checks: Type.Array(CheckSummary),
  /** Machines that have delivered posture results, and machines enrolled. */
  machinesReporting: Type.Number(),
  machinesEnrolled: Type.Number(),
});
export type FleetSummary = Static<typeof FleetSummary>;

export const MachineCheckResult = Type.Object(
  {
    ...MachineNameFields,
    primary_user: Nullable(Type.String()),
    evidence: Type.String(),
    checked_at: Type.Number(),
  },
  Open,
);
export type MachineCheckResult = Static<typeof MachineCheckResult>;

export const CheckMachines = Type.Object({ machines: Type.Array(MachineCheckResult) });

/** A result as the agent delivered it; common/posture.ts defines it and checks each delivery. */
const PostureResult = Type.Unsafe<PostureResultType>({
  type: 'object',
  additionalProperties: true,
});

export const MachinePostureView = Type.Object({
  ...MachineNameFields,
  results: Type.Array(PostureResult),
  /** When the backend received them; null when the machine never sent any. */
  received_at: Nullable(Type.Number()),
});
export type MachinePostureView = Static<typeof MachinePostureView>;

/** A file access (FAA) event as Santa reported it, for the console. */
export const FileAccessEventView = Type.Object({
  id: Type.Number(),
  machine_id: Type.String(),
  rule_name: Type.String(),
  rule_version: Type.String(),
  target: Type.String(),
  decision: Type.String(),
  access_time: Type.Number(),
  /** The accessing process first, then its parents: path, SHA-256, signing and team id, pid. */
  process_chain: Type.Array(
    Type.Object({
      file_path: Type.String(),
      file_sha256: Type.Optional(Type.String()),
      signing_id: Type.Optional(Type.String()),
      team_id: Type.Optional(Type.String()),
      cdhash: Type.Optional(Type.String()),
      pid: Type.Optional(Type.Integer()),
    }),
  ),
  received_at: Type.Number(),
});
export type FileAccessEventView = Static<typeof FileAccessEventView>;

export const FileAccessEventList = Page('events', FileAccessEventView);
export type FileAccessEventList = Static<typeof FileAccessEventList>;

/** A claim on a machine id that does not match what the id is bound to (db/enrollment.ts). */
export const EnrollmentConflict = Type.Object({
  id: Type.Number(),
  machine_id: Type.String(),
  /** agent-reenroll | fleet-mismatch | agent-id */
  kind: Type.String(),
  /** pending | approved | rejected | used */
  state: Type.String(),
  reason: Type.String(),
  claimed_serial: Nullable(Type.String()),
  claimed_cert: Nullable(Type.String()),
  claimed_cert_subject: Nullable(Type.String()),
  /** What the claimant said about itself (hostname, user, tags): claims, not facts. */
  claims: Type.Record(Type.String(), Type.Unknown()),
  address: Type.String(),
  attempts: Type.Number(),
  created_at: Type.Number(),
  last_seen_at: Type.Number(),
  decided_by: Nullable(Type.String()),
  decided_at: Nullable(Type.Number()),
  /** What the id is bound to now. */
  bound: Nullable(
    Type.Object({
      identity: Type.String(),
      serial: Nullable(Type.String()),
      cert_subject: Nullable(Type.String()),
      hostname: Nullable(Type.String()),
    }),
  ),
});
export type EnrollmentConflict = Static<typeof EnrollmentConflict>;

export const EnrollmentConflictList = Page('conflicts', EnrollmentConflict);
export type EnrollmentConflictList = Static<typeof EnrollmentConflictList>;

export const ConflictDecision = Type.Object({ id: Type.Number(), state: Type.String() });

/** Machines whose claimed tags are not the tags an admin put in force. */
export const TagClaim = Type.Object({
  ...MachineNameFields,
  tags: Type.Array(Type.String()),
  claimed_tags: Type.Array(Type.String()),
});
export type TagClaim = Static<typeof TagClaim>;
export const TagClaimList = Type.Object({ machines: Type.Array(TagClaim) });

export const MachineTags = Type.Object(
  {
    tags: Type.Array(Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }), { maxItems: 50 }),
  },
  { additionalProperties: false },
);
