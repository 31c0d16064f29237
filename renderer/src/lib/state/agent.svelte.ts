import type { GatehouseApi } from '../../../../common/ipc';
import { parseAgentStatus } from '../../../../common/ipc';
import { describeProtection, protectionOf, type AgentStatus } from '../../../../common/status';

export class AgentState {
  status = $state<AgentStatus>({ reachable: false });
  loaded = $state(false);
  protection = $derived(protectionOf(this.status));
  text = $derived(describeProtection(this.protection));

  readonly #api: GatehouseApi | undefined;

  constructor(api: GatehouseApi | undefined) {
    this.#api = api;
  }

  async refresh(): Promise<void> {
    try {
      this.status = this.#api
        ? parseAgentStatus(await this.#api.getStatus())
        : { reachable: false };
    } catch {
      this.status = { reachable: false };
    } finally {
      this.loaded = true;
    }
  }
}
