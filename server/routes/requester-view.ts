// A request as the person who asked sees it (schemas/shared.ts, RequesterRequestFields): the
// machines' API (routes/machine/requests.ts, for the menu-bar app) and the portal's
// (routes/portal/lookup.ts) both answer with it, each adding where the request is.
import type { RequestRepository, RequestRow } from '../db/requests';
import type { RequesterRequest } from '../schemas/shared';

export async function requesterView(
  requests: RequestRepository,
  row: RequestRow,
): Promise<RequesterRequest> {
  return {
    id: row.id,
    state: row.state,
    file_sha256: row.file_sha256,
    file_name: row.file_name,
    file_path: row.file_path,
    justification: row.justification,
    created_at: Number(row.created_at),
    updated_at: Number(row.updated_at),
    messages: (await requests.messages(row.id)).map((m) => ({
      author: m.author,
      author_name: m.author_name,
      body: m.body,
      at: Number(m.created_at),
    })),
  };
}
