import { api } from '../api';
import { queryString } from '../format';
import type { Machine, MachineDetail } from '../types';
import type { Desk } from './desk';

export const MACHINES_PER_PAGE = 50;

export const machineHref = (id: string): string => `/console/machines/${encodeURIComponent(id)}`;

export class MachinesPage {
  q = $state('');
  offset = $state(0);
  list = $state<Machine[]>([]);
  total = $state(0);
  readonly perPage = MACHINES_PER_PAGE;

  constructor(private readonly desk: Desk) {}

  async load(params: URLSearchParams): Promise<void> {
    const stale = this.desk.stale;
    this.q = params.get('q') ?? '';
    this.offset = Number(params.get('offset')) || 0;
    const page = await api<{ machines: Machine[]; total: number }>(
      'GET',
      `/machines${queryString({ q: this.q, offset: this.offset || '', limit: MACHINES_PER_PAGE })}`,
    );
    if (stale()) return;
    this.list = page.machines;
    this.total = page.total;
  }

  href(q = this.q, offset = 0): string {
    return `/console/machines${queryString({ q, offset: offset || '' })}`;
  }

  /** The same search from another offset: what the pager links to. */
  pageHref(offset: number): string {
    return this.href(this.q, offset);
  }

  async search(): Promise<void> {
    await this.desk.go(this.href());
  }
}

export class MachinePage {
  detail = $state<MachineDetail | null>(null);

  constructor(private readonly desk: Desk) {}

  async load(id: string): Promise<void> {
    const stale = this.desk.stale;
    if (this.detail?.machine.machine_id !== id) this.detail = null;
    const detail = await api<MachineDetail>('GET', `/machines/${encodeURIComponent(id)}`);
    if (!stale()) this.detail = detail;
  }
}
