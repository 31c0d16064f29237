// The menu-bar role put together: tray, popover, block dialogs, notifications and the IPC the
// renderer calls, all fed by the control socket. Every Electron object is injected, so the whole
// of it runs under plain Node (unit tests with fakes, browser tests with Chromium pages).
import { join } from 'node:path';
import {
  CHANNELS,
  STATE_CHANNEL,
  defaultBlockMessage,
  parseApprovalRequest,
  type ApprovalRequest,
  type BlockDetails,
  type BlockedEvent,
  type SyncOutcome,
} from '../../common/ipc';
import { AgentConnection, type ControlConnection, type Timers } from './agent-connection';
import { detailLinkOf, expandEventDetailUrl, type DetailLink } from './event-detail-url';
import { registerIpcHandlers, type IpcMainLike } from './ipc';
import { AppModel, blockNotice, KEPT, type Notice } from './model';
import { isSafeExternalUrl } from './security';
import type { AppSettings } from './settings';
import type { SilenceStore } from './silences';
import { TrayController, trayViewOf, type TrayFactories } from './tray';
import { AppWindows, type WindowFactories } from './windows';

export interface MenuBarDependencies<Image> {
  readonly tray: TrayFactories<Image>;
  readonly windows: WindowFactories;
  readonly ipcMain: IpcMainLike;
  /** Shows a native notification; `onClick` runs when the user clicks it. */
  notify(notice: Notice, onClick: () => void): void;
  connect(): Promise<ControlConnection>;
  readonly settings: AppSettings;
  readonly silences: SilenceStore;
  readonly hostname: string;
  readonly appVersion: string;
  /** The renderer folder (file://) or dev-server origin the IPC senders must show. */
  readonly trustedRenderer: { readonly fileDir?: string; readonly devOrigin?: string };
  quit(): void;
  readonly timers?: Timers;
  /** Where failures nobody waits for are reported (default: stderr). */
  log?(message: string): void;
}

const RULE_NAMES: Record<string, string> = {
  BLOCK_BINARY: 'A binary rule',
  BLOCK_CERTIFICATE: 'A certificate rule',
  BLOCK_TEAMID: 'A team ID rule',
  BLOCK_SIGNINGID: 'A signing ID rule',
  BLOCK_CDHASH: 'A CDHash rule',
};

/** Why, in plain words, for when the agent cannot explain the decision again. */
function reasonOf(decision: string): string {
  if (decision === 'BLOCK_UNKNOWN')
    return 'No rule allows this program, and the machine is in Lockdown';
  if (decision === 'BLOCK_SCOPE') return 'Blocked path';
  return `${RULE_NAMES[decision] ?? 'A rule'} blocks this program`;
}

export class MenuBarApp<Image = unknown> {
  readonly #deps: MenuBarDependencies<Image>;
  readonly #model = new AppModel();
  readonly #windows: AppWindows;
  readonly #connection: AgentConnection;
  #tray: TrayController<Image> | undefined;
  #unregister: (() => void) | undefined;
  #disconnectReason = '';
  /** The Open button each block dialog was shown, so that Open opens what the button said. */
  readonly #detailLinks = new Map<number, DetailLink | null>();

  constructor(deps: MenuBarDependencies<Image>) {
    this.#deps = deps;
    this.#windows = new AppWindows(deps.windows);
    this.#connection = new AgentConnection(
      deps.connect,
      {
        connected: (snapshot) => {
          this.#model.reset(snapshot);
          this.#publish();
        },
        disconnected: (reason) => {
          if (reason !== this.#disconnectReason) {
            (deps.log ?? console.error)(`gatehouse: the service is not reachable: ${reason}`);
          }
          this.#disconnectReason = reason;
          this.#model.disconnected();
          this.#publish();
        },
        notification: (method, params) => this.#onNotification(method, params),
      },
      deps.timers,
    );
  }

  get model(): AppModel {
    return this.#model;
  }

  get windows(): AppWindows {
    return this.#windows;
  }

  /** Why the agent is unreachable, for logs. */
  get disconnectReason(): string {
    return this.#disconnectReason;
  }

  async start(): Promise<void> {
    this.#tray = new TrayController(this.#deps.tray, (bounds) =>
      this.#windows.togglePopover(bounds),
    );
    this.#unregister = registerIpcHandlers(
      this.#deps.ipcMain,
      {
        isOwnWebContents: (id) => this.#windows.isOwnWebContents(id),
        renderer: this.#deps.trustedRenderer,
      },
      {
        [CHANNELS.getState]: () => this.#model.state(this.#deps.appVersion),
        [CHANNELS.getBlock]: (_sender, eventId) => this.blockDetails(eventId),
        [CHANNELS.requestApproval]: (_sender, eventId, justification) =>
          this.requestApproval(eventId, justification),
        [CHANNELS.replyToRequest]: (_sender, requestId, text) => this.reply(requestId, text),
        [CHANNELS.dismissBlock]: (_sender, eventId, silence) => {
          const event = this.#model.block(eventId);
          if (silence && event) this.#deps.silences.silence(event.sha256, silence);
          this.#windows.closeBlock(eventId);
        },
        [CHANNELS.openBlock]: (_sender, eventId) => this.#openBlock(eventId),
        [CHANNELS.openEventDetail]: (_sender, eventId) => this.openEventDetail(eventId),
        [CHANNELS.syncNow]: () => this.syncNow(),
        [CHANNELS.quit]: () => this.#deps.quit(),
      },
    );
    this.#publish();
    await this.#windows.createPopover();
    this.#connection.start();
  }

  stop(): void {
    this.#connection.stop();
    this.#unregister?.();
    this.#tray?.destroy();
  }

  #publish(): void {
    this.#tray?.render(trayViewOf(this.#model.status, this.#model.state('').requests));
    const state = this.#model.state(this.#deps.appVersion);
    for (const contents of this.#windows.contents()) contents.send(STATE_CHANNEL, state);
  }

  #onNotification(method: string, params: unknown): void {
    if (method === 'status') {
      this.#model.applyStatus(params);
    } else if (method === 'event') {
      const event = this.#model.applyEvent(params);
      if (event) this.#blocked(event);
    } else if (method === 'request') {
      const changed = this.#model.applyRequest(params);
      if (changed?.notice) {
        this.#deps.notify(changed.notice, () => this.showPopover());
      }
    } else if (method === 'rule') {
      const notice = this.#model.applyRuleNotice(params);
      if (notice) this.#deps.notify(notice, () => this.showPopover());
    }
    this.#publish();
  }

  showPopover(): void {
    this.#windows.showPopover(this.#tray?.bounds ?? { x: 0, y: 0, width: 0, height: 0 });
  }

  #blocked(event: BlockedEvent): void {
    if (this.#deps.settings.enableSilentMode || this.#deps.silences.isSilenced(event.sha256))
      return;
    this.#deps.notify(blockNotice(event), () => this.#showBlockLogged(event.id));
    this.#showBlockLogged(event.id);
  }

  #showBlockLogged(eventId: number): void {
    this.#openBlock(eventId).catch((error: Error) =>
      (this.#deps.log ?? console.error)(
        `gatehouse: cannot show the block dialog: ${error.message}`,
      ),
    );
  }

  async #openBlock(eventId: number): Promise<void> {
    const event = await this.#findBlock(eventId);
    this.#windows.hidePopover();
    await this.#windows.showBlock(eventId, event.fileName);
  }

  async #findBlock(eventId: number): Promise<BlockedEvent> {
    const known = this.#model.block(eventId);
    if (known) return known;
    const events = await this.#connection.call('events', { limit: 1000 });
    for (const raw of events) {
      if (raw?.id === eventId) {
        const event = this.#model.applyEvent(raw);
        if (event) return event;
      }
    }
    throw new Error(`no blocked program ${eventId} of yours is known to the Gatehouse service`);
  }

  async blockDetails(eventId: number): Promise<BlockDetails> {
    const event = await this.#findBlock(eventId);
    const explained = await this.#explain(event);
    const link = detailLinkOf(explained ?? {}, this.#deps.settings);
    const opens = link !== null && isSafeExternalUrl(this.#detailUrl(event, link));
    // The employee sees no button; whoever set the URL should learn why from the log.
    if (link && !opens)
      (this.#deps.log ?? console.error)(
        `gatehouse: no Open button for ${event.fileName}: ${link.source} did not give an https URL (${link.template})`,
      );
    this.#detailLinks.delete(eventId);
    this.#detailLinks.set(eventId, link);
    for (const oldest of this.#detailLinks.keys()) {
      if (this.#detailLinks.size <= KEPT) break;
      this.#detailLinks.delete(oldest);
    }
    return {
      event,
      message:
        typeof explained?.customMsg === 'string' && explained.customMsg
          ? explained.customMsg
          : defaultBlockMessage(event.decision),
      reason:
        explained?.decision === event.decision && typeof explained.reason === 'string'
          ? explained.reason
          : reasonOf(event.decision),
      // No button for a URL the app would refuse to open.
      detailButton: opens ? link.label : null,
      request: this.#model.requestFor(eventId) ?? null,
    };
  }

  /** The agent's explanation of a block and its rule's texts; undefined when it cannot give one. */
  async #explain(event: BlockedEvent) {
    try {
      return await this.#connection.call('fileinfo', {
        sha256: event.sha256,
        path: join(event.filePath, event.fileName),
      });
    } catch {
      // The event alone still says what was blocked and why.
      return undefined;
    }
  }

  async requestApproval(eventId: number, justification: string): Promise<ApprovalRequest> {
    await this.#findBlock(eventId);
    return this.#takeRequest(
      'requests.create',
      await this.#connection.call('requests.create', { eventId, justification }),
    );
  }

  async reply(requestId: number, text: string): Promise<ApprovalRequest> {
    if (!this.#model.request(requestId)) throw new Error(`no request ${requestId} of yours`);
    return this.#takeRequest(
      'requests.reply',
      await this.#connection.call('requests.reply', { requestId, text }),
    );
  }

  /** A request the service created or changed is shown at once, not at the next poll. */
  #takeRequest(method: string, answer: unknown): ApprovalRequest {
    const request = parseApprovalRequest(answer);
    if (!request)
      throw new Error(`the Gatehouse service answered ${method} with something unreadable`);
    this.#model.applyRequest(request);
    this.#publish();
    return request;
  }

  async syncNow(): Promise<SyncOutcome> {
    try {
      const result = await this.#connection.call('sync');
      return result?.started === true
        ? { started: true }
        : {
            started: false,
            reason: typeof result?.reason === 'string' ? result.reason : 'the sync did not start',
          };
    } catch (error) {
      return { started: false, reason: (error as Error).message };
    }
  }

  /**
   * Opens the URL of the Open button the dialog showed (the rule's custom_url, else
   * EventDetailURL) with Santa's placeholders filled in, when it gives an https URL.
   */
  async openEventDetail(eventId: number): Promise<void> {
    const event = this.#model.block(eventId);
    if (!event) throw new Error(`no blocked program ${eventId} of yours`);
    const link = this.#detailLinks.has(eventId)
      ? this.#detailLinks.get(eventId)
      : detailLinkOf((await this.#explain(event)) ?? {}, this.#deps.settings);
    if (!link)
      throw new Error(
        "there is nothing to open: neither the rule's custom_url nor EventDetailURL is set",
      );
    const url = this.#detailUrl(event, link);
    if (!isSafeExternalUrl(url))
      throw new Error(`${link.source} did not give an https URL: ${url}`);
    this.#deps.windows.openExternal(url);
    this.#windows.closeBlock(eventId);
  }

  /** The link's URL for this block, Santa's placeholders filled in. */
  #detailUrl(event: BlockedEvent, link: DetailLink): string {
    return expandEventDetailUrl(link.template, {
      fileIdentifier: event.sha256,
      bundleOrFileIdentifier: event.sha256,
      ...(event.user ? { username: event.user } : {}),
      ...(this.#deps.settings.machineId ? { machineId: this.#deps.settings.machineId } : {}),
      hostname: this.#deps.hostname,
    });
  }
}
