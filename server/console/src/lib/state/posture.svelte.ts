// Fleet posture (per check: how many machines pass, fail, cannot tell; who they are); one
// machine's posture loads as a MachinePart (machine-part.svelte.ts).
import type { PostureStatus } from '../../../../../common/posture';
import { api } from '../api';
import type { CheckSummary, FleetSummary, MachineCheckResult } from '../types';

export const STATUS_LABEL: Record<PostureStatus, string> = {
  pass: 'passing',
  fail: 'failing',
  unknown: 'unknown',
};

export class FleetPostureState {
  fleet = $state<FleetSummary | null>(null);
  /** The check and status whose machines are listed. */
  shown = $state<{ check: CheckSummary; status: PostureStatus } | null>(null);
  machines = $state<MachineCheckResult[]>([]);
  /** The machine whose posture is open. */
  machineId = $state<string | null>(null);
  error = $state('');

  async load(): Promise<void> {
    this.error = '';
    try {
      this.fleet = await api<FleetSummary>('GET', '/posture');
    } catch (error) {
      this.error = (error as Error).message;
    }
  }

  async show(check: CheckSummary, status: PostureStatus): Promise<void> {
    this.error = '';
    try {
      const { machines } = await api<{ machines: MachineCheckResult[] }>(
        'GET',
        `/posture/${encodeURIComponent(check.id)}/machines?status=${status}`,
      );
      this.shown = { check, status };
      this.machines = machines;
    } catch (error) {
      this.error = (error as Error).message;
    }
  }

  openMachine(machineId: string): void {
    this.machineId = machineId;
  }
}
