// What the server answers machines (Santa clients and Gatehouse agents), as TypeBox schemas the
// routes under routes/machine/ serialize with. Santa's fields are Santa's names (snake_case);
// a key that is absent here is never sent.
//
// Request bodies are checked in the routes instead (common/santa.ts's readers): Santa clients
// send camelCase or snake_case keys, compressed, and an agent's log shows the server's sentence,
// so the check that names the field and the stage ("eventupload: events[3]: file_sha256 must
// be ...") is part of the contract; a schema's generic message would lose it.
import { Type, type Static } from 'typebox';
import { Failure } from './failure';
import { PreflightSettings } from './settings';
import { Optional, RequesterRequestFields, santaRuleOptions } from './shared';

/** Every machine route's refusals. */
export const Refusals = { '4xx': Failure } as const;

export const MachineParams = Type.Object({ machine_id: Type.String() });

export const Enrolled = Type.Object({ machine_id: Type.String(), token: Type.String() });

/** An agent's enrollment key, registered once by an agent enrolled before it kept one. */
export const EnrollmentKey = Type.Object(
  { enrollment_key: Type.String({ minLength: 32, maxLength: 256 }) },
  { additionalProperties: false },
);
export const EnrollmentKeyStored = Type.Object({ registered: Type.Literal(true) });

/** An enrollment that did not get a token: waiting for an admin (409) or refused by one (403). */
export const EnrollConflict = Type.Object({
  error: Type.String(),
  state: Type.String(),
  conflict_id: Optional(Type.Integer()),
});

export const Preflight = Type.Object({
  sync_type: Type.Union([Type.Literal('NORMAL'), Type.Literal('CLEAN'), Type.Literal('CLEAN_ALL')]),
  clean_sync: Optional(Type.Boolean()),
  batch_size: Type.Integer(),
  full_sync_interval: Type.Integer(),
  // The settings profiles' keys (schemas/settings.ts), each sent only when set.
  ...PreflightSettings,
});
export type Preflight = Static<typeof Preflight>;

export const EventUpload = Type.Object({
  event_upload_bundle_binaries: Type.Array(Type.String()),
});
export type EventUpload = Static<typeof EventUpload>;

export const SantaRule = Type.Object({
  identifier: Type.String(),
  rule_type: Type.String(),
  policy: Type.String(),
  ...santaRuleOptions(Optional),
});

export const RuleDownload = Type.Object({
  rules: Type.Array(SantaRule),
  /** A JSON string: current Santa clients parse the protobuf strictly. */
  cursor: Optional(Type.String()),
});
export type RuleDownload = Static<typeof RuleDownload>;

export const Postflight = Type.Object({});

/** An approval request as its machine sees it. */
export const MachineRequestView = Type.Object({
  ...RequesterRequestFields,
  client_request_id: Type.String(),
  requester: Type.String(),
});
export type MachineRequestView = Static<typeof MachineRequestView>;

export const MachineRequestQuery = Type.Object({ requester: Type.Optional(Type.String()) });

export const MachineRequestList = Type.Object({ requests: Type.Array(MachineRequestView) });

export const PostureStored = Type.Object({ stored: Type.Integer() });
