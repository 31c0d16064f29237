// Machine identity: enrollment conflicts (a machine id claimed by something other than what it
// is bound to) for an admin to approve or reject, and tags machines claim that an admin has not
// put in force.
import { api } from '../api';
import type { EnrollmentConflict, TagClaim } from '../types';

export type ConflictFilter = 'pending' | 'approved' | 'rejected' | 'used' | 'all';

export const KIND_LABEL: Record<string, string> = {
  'agent-reenroll': 'Agent re-enrollment',
  'fleet-mismatch': 'Santa client with another serial or certificate',
  'agent-id': "Fleet credential on an agent's machine id",
};

export class EnrollmentState {
  filter = $state<ConflictFilter>('pending');
  conflicts = $state<EnrollmentConflict[]>([]);
  total = $state(0);
  tagClaims = $state<TagClaim[]>([]);
  error = $state('');
  notice = $state('');

  async load(): Promise<void> {
    this.error = '';
    try {
      const [list, claims] = await Promise.all([
        api<{ total: number; conflicts: EnrollmentConflict[] }>(
          'GET',
          `/enrollment/conflicts?state=${this.filter}`,
        ),
        api<{ machines: TagClaim[] }>('GET', '/enrollment/tag-claims'),
      ]);
      this.conflicts = list.conflicts;
      this.total = list.total;
      this.tagClaims = claims.machines;
    } catch (error) {
      this.error = (error as Error).message;
    }
  }

  async decide(conflict: EnrollmentConflict, approve: boolean): Promise<void> {
    await this.#change(
      `/enrollment/conflicts/${conflict.id}/${approve ? 'approve' : 'reject'}`,
      {},
      `${approve ? 'Approved' : 'Rejected'} the claim on ${conflict.machine_id}.`,
    );
  }

  async acceptTags(claim: TagClaim): Promise<void> {
    await this.#change(
      `/machines/${encodeURIComponent(claim.machine_id)}/tags`,
      { tags: claim.claimed_tags },
      `Tags of ${claim.machine_id}: ${claim.claimed_tags.join(', ')}.`,
    );
  }

  async #change(path: string, body: unknown, done: string): Promise<void> {
    this.error = '';
    this.notice = '';
    try {
      await api('POST', path, body);
      // Said once the list shows it, so that the status never announces a row still listed.
      await this.load();
      this.notice = done;
    } catch (error) {
      this.error = (error as Error).message;
    }
  }
}
