import {
  parseAppState,
  type AppState,
  type ApprovalRequest,
  type GatehouseApi,
} from '../../../../common/ipc';
import { describeMode, describeProtection, protectionOf } from '../../../../common/status';

const UNREACHABLE: AppState = {
  status: { reachable: false },
  blocks: [],
  requests: [],
  appVersion: '',
};

/** The popover's state: what the main process last said, and the user's actions on it. */
export class AppStore {
  state = $state<AppState>(UNREACHABLE);
  loaded = $state(false);
  syncing = $state(false);
  syncMessage = $state('');
  actionError = $state('');

  protection = $derived(protectionOf(this.state.status));
  text = $derived(describeProtection(this.protection));
  mode = $derived(describeMode(this.state.status.mode));
  posture = $derived(this.state.status.posture);
  failingChecks = $derived((this.posture ?? []).filter((check) => check.status !== 'pass').length);

  readonly #api: GatehouseApi | undefined;
  #pushes = 0;

  constructor(api: GatehouseApi | undefined) {
    this.#api = api;
  }

  async start(): Promise<void> {
    if (!this.#api) {
      this.loaded = true;
      return;
    }
    this.#api.onState((state) => {
      this.#pushes++;
      this.state = parseAppState(state);
      this.loaded = true;
    });
    const pushesBefore = this.#pushes;
    try {
      const state = parseAppState(await this.#api.getState());
      // A push that arrived meanwhile is newer than this answer.
      if (this.#pushes === pushesBefore) this.state = state;
    } catch {
      this.state = UNREACHABLE;
    } finally {
      this.loaded = true;
    }
  }

  requestFor(eventId: number): ApprovalRequest | undefined {
    return this.state.requests.find((request) => request.eventId === eventId);
  }

  fileNameOf(request: ApprovalRequest): string {
    return this.state.blocks.find((block) => block.id === request.eventId)?.fileName ?? 'A program';
  }

  async syncNow(): Promise<void> {
    if (!this.#api || this.syncing) return;
    this.syncing = true;
    this.syncMessage = 'Syncing…';
    try {
      const outcome = await this.#api.syncNow();
      this.syncMessage = outcome.started
        ? 'Sync started'
        : `Sync did not start: ${outcome.reason ?? 'unknown reason'}`;
    } catch (error) {
      this.syncMessage = `Sync did not start: ${errorText(error)}`;
    } finally {
      this.syncing = false;
    }
  }

  async openBlock(eventId: number): Promise<void> {
    await this.#run(() => this.#api?.openBlock(eventId));
  }

  /** Sends a reply to the helpdesk; returns an error message, or '' when it was sent. */
  async reply(requestId: number, text: string): Promise<string> {
    if (!this.#api) return 'The Gatehouse service is not reachable';
    try {
      await this.#api.replyToRequest(requestId, text);
      return '';
    } catch (error) {
      return errorText(error);
    }
  }

  async quit(): Promise<void> {
    await this.#run(() => this.#api?.quit());
  }

  async #run(action: () => Promise<unknown> | undefined): Promise<void> {
    this.actionError = '';
    try {
      await action();
    } catch (error) {
      this.actionError = errorText(error);
    }
  }
}

/** An error from the main process, without Electron's "Error invoking remote method" wrapping. */
export function errorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^Error invoking remote method '[^']+': (\w*Error: )?/, '');
}
