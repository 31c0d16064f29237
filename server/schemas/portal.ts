// The employee portal's API (/portal/api) as TypeBox schemas: the routes under routes/portal/
// check and serialize with them, and the portal (server/portal/) imports their types only.
import { Type, type Static } from 'typebox';
import { Failure } from './failure';
import { MachineNameFields, Nullable, RequesterRequestFields, SigningClaimFields } from './shared';

export { Failure };

const JUSTIFICATION = { minLength: 10, maxLength: 2000 };
export const SHA256 = '^[0-9a-fA-F]{64}$';

export const PortalMe = Type.Object({ username: Type.String(), csrfToken: Type.String() });
export type PortalMe = Static<typeof PortalMe>;

/**
 * Santa's EventDetailURL placeholders as the portal's links carry them (each percent-encoded by
 * Santa): the file and the machine decide what is shown; the others only help to say what is wrong.
 */
export const BlockedQuery = Type.Object({
  sha: Type.Optional(Type.String({ maxLength: 128 })),
  machine: Type.Optional(Type.String({ maxLength: 256 })),
});

/** A request as the person who asked sees it in the portal: on which of their machines. */
export const PortalRequest = Type.Object({
  ...RequesterRequestFields,
  ...MachineNameFields,
});
export type PortalRequest = Static<typeof PortalRequest>;

export const PortalRequestList = Type.Object({ requests: Type.Array(PortalRequest) });
export type PortalRequestList = Static<typeof PortalRequestList>;

/** One blocked program as the machine reported it, with what the person can do about it. */
export const Blocked = Type.Object({
  machine: Type.Object({ id: Type.String(), hostname: Nullable(Type.String()) }),
  program: Type.Object({
    name: Type.String(),
    path: Type.String(),
    sha256: Type.String(),
    ...SigningClaimFields,
  }),
  user: Nullable(Type.String()),
  decision: Type.String(),
  /** When the machine blocked it, in milliseconds since the epoch. */
  blocked_at: Type.Number(),
  /** A rule in force lets it run on this machine. */
  allowed: Type.Boolean(),
  /** The person's request for it on this machine: the open one, else the latest. */
  request: Nullable(PortalRequest),
});
export type Blocked = Static<typeof Blocked>;

export const NewPortalRequest = Type.Object(
  {
    sha: Type.String({ pattern: SHA256 }),
    machine: Type.String({ minLength: 1, maxLength: 256 }),
    justification: Type.String(JUSTIFICATION),
  },
  { additionalProperties: false },
);
export type NewPortalRequest = Static<typeof NewPortalRequest>;

export const PortalCreated = Type.Object({ request: PortalRequest, joined: Type.Boolean() });
export type PortalCreated = Static<typeof PortalCreated>;

export const PortalReply = Type.Object(
  { body: Type.String({ minLength: 1, maxLength: 2000 }) },
  { additionalProperties: false },
);
