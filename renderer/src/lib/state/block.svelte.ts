import {
  JUSTIFICATION_LIMITS,
  parseApprovalRequest,
  parseAppState,
  parseBlockDetails,
  type ApprovalRequest,
  type BlockDetails,
  type GatehouseApi,
  type SilencePeriod,
} from '../../../../common/ipc';
import { errorText } from './app.svelte';

/** One block dialog: the event, the justification being written, the request once sent. */
export class BlockStore {
  details = $state<BlockDetails | null>(null);
  loadError = $state('');
  justification = $state('');
  silenced = $state(false);
  silencePeriod = $state<SilencePeriod>('day');
  submitting = $state(false);
  submitError = $state('');
  request = $state<ApprovalRequest | null>(null);
  /** The name a synced rule gives this program once it lets it run ("<name> can now be run"). */
  nowRuns = $state<string | null>(null);

  length = $derived(this.justification.trim().length);
  tooShort = $derived(this.length < JUSTIFICATION_LIMITS.min);
  tooLong = $derived(this.length > JUSTIFICATION_LIMITS.max);
  canSubmit = $derived(
    !this.tooShort && !this.tooLong && !this.submitting && this.request === null,
  );
  hint = $derived(
    this.tooShort
      ? `At least ${JUSTIFICATION_LIMITS.min} characters (${JUSTIFICATION_LIMITS.min - this.length} more needed), at most ${JUSTIFICATION_LIMITS.max}.`
      : this.tooLong
        ? `At most ${JUSTIFICATION_LIMITS.max} characters (${this.length - JUSTIFICATION_LIMITS.max} too many).`
        : `${JUSTIFICATION_LIMITS.max - this.length} characters left.`,
  );

  readonly #api: GatehouseApi | undefined;
  readonly eventId: number;

  constructor(api: GatehouseApi | undefined, eventId: number) {
    this.#api = api;
    this.eventId = eventId;
  }

  async load(): Promise<void> {
    if (!this.#api) {
      this.loadError = 'The Gatehouse service is not reachable.';
      return;
    }
    this.#api.onState((raw) => {
      const state = parseAppState(raw);
      const mine = state.requests.find((request) => request.eventId === this.eventId);
      if (mine) this.request = mine;
      const nowRuns = state.blocks.find((event) => event.id === this.eventId)?.nowRuns;
      if (nowRuns) this.nowRuns = nowRuns;
    });
    try {
      const details = parseBlockDetails(await this.#api.getBlock(this.eventId));
      if (!details) throw new Error('the app sent details this dialog cannot read');
      this.details = details;
      this.request ??= details.request;
      this.nowRuns ??= details.event.nowRuns ?? null;
    } catch (error) {
      this.loadError = errorText(error);
    }
  }

  async submit(): Promise<void> {
    if (!this.#api || !this.canSubmit) return;
    this.submitting = true;
    this.submitError = '';
    try {
      const created = parseApprovalRequest(
        await this.#api.requestApproval(this.eventId, this.justification),
      );
      if (created) this.request = created;
    } catch (error) {
      this.submitError = errorText(error);
    } finally {
      this.submitting = false;
    }
  }

  async dismiss(): Promise<void> {
    await this.#api?.dismissBlock(this.eventId, this.silenced ? this.silencePeriod : null);
  }

  async openDetail(): Promise<void> {
    try {
      await this.#api?.openEventDetail(this.eventId);
    } catch (error) {
      this.submitError = errorText(error);
    }
  }
}
