// What a sign-in page needs to know before anyone is signed in: whether single sign-on is on and
// whether local password logins remain. The console and the portal import the type.
import { Type, type Static } from 'typebox';

export const SsoStatus = Type.Object({
  sso: Type.Boolean(),
  local_login: Type.Union([Type.Literal('on'), Type.Literal('break-glass'), Type.Literal('off')]),
});
export type SsoStatus = Static<typeof SsoStatus>;

export const SsoLoginQuery = Type.Object(
  { return: Type.Optional(Type.String({ maxLength: 512 })) },
  { additionalProperties: false },
);

/** A logout's answer: where the provider ends its own session, or why it cannot. */
export const SignedOut = Type.Object({
  ok: Type.Literal(true),
  end_session_url: Type.Optional(Type.String()),
  notice: Type.Optional(Type.String()),
});
export type SignedOut = Static<typeof SignedOut>;
