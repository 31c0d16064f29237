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
import type { RuleNotice } from '../../common/control';
import { RULE_DETAIL_LIMITS } from '../../common/rules';
import type { AgentStatus } from '../../common/status';

/** Blocks, programs built here and requests kept of each (the newest). */
export const KEPT = 20;

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

/** Santa's "<name> can now be run", once a synced rule lets a blocked program run. */
export function nowRunsNotice(appName: string): Notice {
  return {
    title: `${appName} can now be run`,
    body: 'A rule from your organization now allows it. Run it again.',
  };
}

const SHA256 = /^[0-9a-f]{64}$/i;
// Line breaks and other controls would let a name pose as more than one line of a notification.
const CONTROL_CHARACTERS = /[\p{Cc}\p{Zl}\p{Zp}]/u;

/** The `rule` push (ControlPushes.rule), read as every push is: anything malformed is nothing. */
export function parseRuleNotice(value: unknown): RuleNotice | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { sha256, appName } = value as Record<string, unknown>;
  if (typeof sha256 !== 'string' || !SHA256.test(sha256)) return undefined;
  if (typeof appName !== 'string' || appName.length > RULE_DETAIL_LIMITS.notification_app_name)
    return undefined;
  const name = appName.trim();
  if (name === '' || CONTROL_CHARACTERS.test(name)) return undefined;
  return { sha256: sha256.toLowerCase(), appName: name };
}

export class AppModel {
  #status: AgentStatus = { reachable: false };
  readonly #blocks = new Map<number, BlockedEvent>();
  /** Programs a compiler built here that ran on their transitive rule. */
  readonly #built = new Map<number, BlockedEvent>();
  readonly #requests = new Map<number, ApprovalRequest>();
  /** Requests whose program a rule notice said can now run while they were still open. */
  readonly #toldBeforeApproval = new Set<number>();

  get status(): AgentStatus {
    return this.#status;
  }

  /** A fresh connection: the agent's status, events and requests replace what was known. */
  reset(snapshot: { status: unknown; events: unknown; requests: unknown }): void {
    this.#status = statusFromAgent(snapshot.status);
    const marked = [...this.#blocks.values()].filter((event) => event.nowRuns);
    this.#blocks.clear();
    this.#built.clear();
    this.#requests.clear();
    for (const raw of Array.isArray(snapshot.events) ? snapshot.events : []) this.applyEvent(raw);
    // A block the service has not seen again since its rule arrived can still run.
    for (const before of marked) {
      const now = this.#blocks.get(before.id);
      if (now && !now.nowRuns && now.occurrences === before.occurrences)
        this.#blocks.set(now.id, { ...now, nowRuns: before.nowRuns });
    }
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

  /**
   * Marks this user's blocks of the program a synced rule now lets run; returns the notification
   * it deserves, or nothing for a malformed push, one about a program this user was not blocked
   * on lately, or news the user has had already (the same rule again, or the approval of their
   * request, whose rule this is).
   */
  applyRuleNotice(raw: unknown): Notice | undefined {
    const notice = parseRuleNotice(raw);
    if (!notice) return undefined;
    let news = false;
    for (const event of this.#blocks.values()) {
      if (event.sha256 !== notice.sha256 || event.nowRuns === notice.appName) continue;
      this.#blocks.set(event.id, { ...event, nowRuns: notice.appName });
      const request = this.requestFor(event.id);
      if (request && request.state !== 'approved') {
        this.#toldBeforeApproval.add(request.id);
        // As many as the requests kept; the oldest first out.
        for (const id of this.#toldBeforeApproval) {
          if (this.#toldBeforeApproval.size <= KEPT) break;
          this.#toldBeforeApproval.delete(id);
        }
      }
      news ||= request?.state !== 'approved';
    }
    return news ? nowRunsNotice(notice.appName) : undefined;
  }

  /**
   * Keeps a request; returns it with the notification its change deserves. Its approval is no
   * news once its rule arrived first, while it was open, and said "<name> can now be run"
   * (applyRuleNotice).
   */
  applyRequest(raw: unknown): { request: ApprovalRequest; notice?: Notice } | undefined {
    const request = parseApprovalRequest(raw);
    if (!request) return undefined;
    const before = this.#requests.get(request.id);
    this.#requests.set(request.id, request);
    trim(this.#requests);
    const told = request.state === 'approved' && this.#toldBeforeApproval.delete(request.id);
    const notice = told ? undefined : requestNotice(before, request, this.fileNameOf(request));
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
