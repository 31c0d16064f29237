// Schema fragments that several APIs share: the console's, the machines' and the portal's wire
// types are built from these, so each exists once.
import { Type, type Static, type TSchema } from 'typebox';

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

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
