// What the menu bar knows: the agent's status, this user's recent blocks and requests, and which
// changes deserve a notification. Pure: fed from the control socket, read by tray and windows.
import {
  parseApprovalRequest,
  parseBlockedEvent,
  statusFromAgent,
  type AppState,
  type ApprovalRequest,
  type BlockedEvent,
} from '../../common/ipc';
import type { AgentStatus } from '../../common/status';

const KEPT = 20;

export interface Notice {
  readonly title: string;
  readonly body: string;
}

const isBlock = (event: BlockedEvent) => event.decision.startsWith('BLOCK_');

/** The notification a request's change deserves, if any. */
export function requestNotice(
  before: ApprovalRequest | undefined,
  after: ApprovalRequest,
  fileName: string,
): Notice | undefined {
  if (after.state === 'approved' && before?.state !== 'approved') {
    return {
      title: `Approved: ${fileName} can run now`,
      body: 'The helpdesk approved your request. Run it again.',
    };
  }
  if (after.state === 'denied' && before?.state !== 'denied') {
    const said = lastHelpdeskMessage(after);
    return {
      title: `Denied: ${fileName}`,
      body: said ?? 'The helpdesk did not approve your request.',
    };
  }
  const helpdeskBefore = before?.messages.filter((m) => m.author === 'helpdesk').length ?? 0;
  const helpdeskAfter = after.messages.filter((m) => m.author === 'helpdesk').length;
  if (
    after.state === 'needs-info' &&
    (before?.state !== 'needs-info' || helpdeskAfter > helpdeskBefore)
  ) {
    return {
      title: 'The helpdesk asked a question',
      body: lastHelpdeskMessage(after) ?? `About your request to run ${fileName}.`,
    };
  }
  return undefined;
}

function lastHelpdeskMessage(request: ApprovalRequest): string | undefined {
  return request.messages.filter((m) => m.author === 'helpdesk').at(-1)?.body;
}

export function blockNotice(event: BlockedEvent): Notice {
  return {
    title: `Blocked: ${event.fileName}`,
    body: 'Gatehouse stopped this program. Open the dialog to see why or to ask for approval.',
  };
}

export class AppModel {
  #status: AgentStatus = { reachable: false };
  readonly #blocks = new Map<number, BlockedEvent>();
  /** Programs a compiler built here that ran on their transitive rule. */
  readonly #built = new Map<number, BlockedEvent>();
  readonly #requests = new Map<number, ApprovalRequest>();

  get status(): AgentStatus {
    return this.#status;
  }

  /** A fresh connection: the agent's status, events and requests replace what was known. */
  reset(snapshot: { status: unknown; events: unknown; requests: unknown }): void {
    this.#status = statusFromAgent(snapshot.status);
    this.#blocks.clear();
    this.#built.clear();
    this.#requests.clear();
    for (const raw of Array.isArray(snapshot.events) ? snapshot.events : []) this.applyEvent(raw);
    for (const raw of Array.isArray(snapshot.requests) ? snapshot.requests : [])
      this.applyRequest(raw);
  }

  disconnected(): void {
    this.#status = { reachable: false };
  }

  applyStatus(raw: unknown): void {
    this.#status = statusFromAgent(raw);
  }

  /** Keeps a block event; returns it when it is one (allows are not shown). */
  applyEvent(raw: unknown): BlockedEvent | undefined {
    const event = parseBlockedEvent(raw);
    if (event?.decision === 'ALLOW_TRANSITIVE' && event.builtBy) {
      this.#built.set(event.id, event);
      trim(this.#built);
      return undefined;
    }
    if (!event || !isBlock(event)) return undefined;
    this.#blocks.delete(event.id);
    this.#blocks.set(event.id, event);
    trim(this.#blocks);
    return event;
  }

  /** Keeps a request; returns it with the notification its change deserves. */
  applyRequest(raw: unknown): { request: ApprovalRequest; notice?: Notice } | undefined {
    const request = parseApprovalRequest(raw);
    if (!request) return undefined;
    const before = this.#requests.get(request.id);
    this.#requests.set(request.id, request);
    trim(this.#requests);
    const notice = requestNotice(before, request, this.fileNameOf(request));
    return notice ? { request, notice } : { request };
  }

  block(eventId: number): BlockedEvent | undefined {
    return this.#blocks.get(eventId);
  }

  requestFor(eventId: number): ApprovalRequest | undefined {
    return [...this.#requests.values()].filter((r) => r.eventId === eventId).at(-1);
  }

  request(id: number): ApprovalRequest | undefined {
    return this.#requests.get(id);
  }

  fileNameOf(request: ApprovalRequest): string {
    return this.#blocks.get(request.eventId)?.fileName ?? 'the program';
  }

  state(appVersion: string): AppState {
    const newestFirst = <T extends { id: number }>(map: Map<number, T>) =>
      [...map.values()].sort((a, b) => b.id - a.id);
    return {
      status: this.#status,
      blocks: newestFirst(this.#blocks),
      requests: newestFirst(this.#requests),
      built: newestFirst(this.#built),
      appVersion,
    };
  }
}

function trim<T extends { id: number }>(map: Map<number, T>): void {
  if (map.size <= KEPT) return;
  const oldest = [...map.keys()].sort((a, b) => a - b).slice(0, map.size - KEPT);
  for (const id of oldest) map.delete(id);
}
