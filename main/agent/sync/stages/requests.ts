// Gatehouse's approval requests, beside Santa's protocol and never inside it. Queued requests are
// delivered before the rule download, so that one reaches the helpdesk even when the download
// fails; open ones are refreshed after the rules are applied, so that a request is never shown
// approved (and announced so) before its rule lets the binary run. A server without the API (404)
// is left alone.
import type { RequestMessage, RequestState, StoredRequest } from '../../store/requests';
import { userName } from '../../users';
import { SyncError } from '../errors';
import type { StageContext } from './stage';

interface RemoteRequest {
  id: number | string;
  client_request_id?: string;
  state?: string;
  messages?: { author?: string; author_name?: string; body?: string; at?: number }[];
}

/** Sends the queued requests; returns how many the backend took. */
export async function deliverRequests(context: StageContext): Promise<number> {
  const { agent, transport } = context;
  let delivered = 0;
  if (!transport.authenticated) return delivered;
  for (const request of agent.requests.queued()) {
    const event = agent.events.get(request.eventId);
    if (!event) continue;
    const reply = await transport.api(
      'POST',
      'requests',
      {
        client_request_id: String(request.id),
        requester: requester(request),
        justification: request.justification,
        event: {
          file_sha256: event.fileSha256,
          file_path: event.filePath,
          file_name: event.fileName,
          decision: event.decision,
          execution_time: event.executionTime,
        },
      },
      'requests',
      [200, 201, 404],
    );
    if (reply.status === 404) return delivered; // not a Gatehouse server
    applyRemote(context, request.id, reply.body as RemoteRequest);
    delivered++;
  }
  return delivered;
}

/** Brings the open requests up to date; returns how many changed. */
export async function refreshRequests(context: StageContext): Promise<number> {
  const { agent, transport } = context;
  let updated = 0;
  if (!transport.authenticated || agent.requests.open().length === 0) return updated;
  const list = await transport.api('GET', 'requests', undefined, 'requests', [200, 404]);
  if (list.status === 404) return updated;
  const remote = new Map(
    ((list.body as { requests?: RemoteRequest[] }).requests ?? []).map((r) => [
      String(r.client_request_id),
      r,
    ]),
  );
  for (const request of agent.requests.open()) {
    const match = remote.get(String(request.id));
    if (match && applyRemote(context, request.id, match)) updated++;
  }
  return updated;
}

/**
 * The user's answer to the helpdesk's question, sent at once (not at the next sync); returns the
 * request as the backend now has it.
 */
export async function replyToRequest(
  context: StageContext,
  localId: number,
  body: string,
): Promise<StoredRequest> {
  const { agent, transport } = context;
  const request = agent.requests.get(localId);
  if (!request) throw new SyncError(`reply: there is no request ${localId}`);
  if (!transport.authenticated || !request.serverId) {
    throw new SyncError(
      'reply: this request has not reached the helpdesk yet; try again after the next sync',
    );
  }
  const path = `requests/${encodeURIComponent(request.serverId)}/reply`;
  const answer = await transport.api(
    'POST',
    path,
    { requester: requester(request), body },
    'reply',
    [200],
  );
  applyRemote(context, localId, answer.body as RemoteRequest);
  return agent.requests.get(localId) ?? request;
}

function requester(request: StoredRequest): string {
  return userName(request.uid) ?? `uid ${request.uid}`;
}

/** What the backend says of a request, applied locally; true when anything changed. */
function applyRemote({ agent }: StageContext, localId: number, remote: RemoteRequest): boolean {
  const changed = agent.requests.update(localId, {
    serverId: String(remote.id),
    state: remoteState(remote.state),
    messages: remoteMessages(remote.messages),
  });
  if (changed) agent.requestChanged(changed);
  return changed !== undefined;
}

function remoteState(state: unknown): RequestState {
  return state === 'approved' || state === 'denied' || state === 'needs-info' ? state : 'pending';
}

function remoteMessages(messages: RemoteRequest['messages']): RequestMessage[] {
  return (Array.isArray(messages) ? messages : [])
    .filter((m) => typeof m?.body === 'string')
    .map((m) => ({
      author: m.author === 'user' ? 'user' : 'helpdesk',
      authorName: typeof m.author_name === 'string' ? m.author_name : '',
      body: m.body!,
      at: typeof m.at === 'number' ? m.at : 0,
    }));
}
