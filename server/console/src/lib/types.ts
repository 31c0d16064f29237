// What the console API returns, as the pages use it: the server's route schemas are the one
// source (server/schemas/console.ts). Type-only, so none of the server's code reaches the bundle.
export type {
  ApprovalRequest,
  AuditEntry,
  Binary,
  Block,
  CheckSummary,
  EarlierRequest,
  EnrollmentConflict,
  FleetSummary,
  Machine,
  MachineCheckResult,
  MachineDetail,
  MachinePostureView,
  Me,
  RequestDetail,
  RequestSummary,
  Role,
  Rule,
  TagClaim,
} from '../../../schemas/console';
export type {
  EffectiveSetting,
  EffectiveSettings,
  FileAccessEventList,
  FileAccessEventView,
  SettingKey,
  SettingsProfile,
  SettingsScope,
  SettingValues,
} from '../../../schemas/settings';
