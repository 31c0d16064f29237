// Schema fragments that several APIs share: the console's, the machines' and the portal's wire
// types are built from these, so each exists once.
import { Type, type Static, type TArray, type TSchema, type TString } from 'typebox';

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
export const Optional = <T extends TSchema>(schema: T) => Type.Optional(schema);

/** One page of a longer list: its items under `key`, and how many the whole list holds. */
export const Page = <Key extends string, Item extends TSchema>(key: Key, item: Item) =>
  Type.Object({
    total: Type.Number(),
    ...({ [key]: Type.Array(item) } as { [K in Key]: TArray<Item> }),
  });

/** A message of a request's conversation, as the person who asked sees it. */
export const RequesterMessage = Type.Object({
  author: Type.String(),
  author_name: Type.String(),
  body: Type.String(),
  at: Type.Number(),
});

/**
 * What the person who asked sees of their request wherever they look (the menu-bar app through
 * their machine, the portal); each API adds the fields that say where it is.
 */
export const RequesterRequestFields = {
  id: Type.Number(),
  state: Type.String(),
  file_sha256: Type.String(),
  file_name: Type.String(),
  file_path: Type.String(),
  justification: Type.String(),
  created_at: Type.Number(),
  updated_at: Type.Number(),
  messages: Type.Array(RequesterMessage),
};
export const RequesterRequest = Type.Object(RequesterRequestFields);
export type RequesterRequest = Static<typeof RequesterRequest>;

/**
 * What a binary's code signature claims, as machines reported it (null when unsigned or not
 * said): never verified by the server.
 */
export const SigningClaimFields = {
  signer: Nullable(Type.String()),
  team_id: Nullable(Type.String()),
  signing_id: Nullable(Type.String()),
  package: Nullable(Type.String()),
};

/**
 * The optional parts of a Santa rule: the block dialog's message, link and button label, the
 * notification's app name and a CEL condition. `unset` says how an API sends one a rule does not
 * set: absent to machines (Santa's protocol), null to the console (the stored row).
 */
export const santaRuleOptions = <T extends TSchema>(unset: (schema: TString) => T) => ({
  custom_msg: unset(Type.String()),
  custom_url: unset(Type.String()),
  cel_expr: unset(Type.String()),
  event_detail_button_label: unset(Type.String()),
  notification_app_name: unset(Type.String()),
});

/** Which machine: its id, and the host name people know it by (null until it has said). */
export const MachineNameFields = {
  machine_id: Type.String(),
  hostname: Nullable(Type.String()),
};
