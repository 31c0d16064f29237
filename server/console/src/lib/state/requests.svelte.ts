import { api } from '../api';
import { filtersFrom, queryString } from '../format';
import type { RequestDetail, RequestSummary } from '../types';
import type { Desk } from './desk';

export interface RequestFilters {
  state: string;
  older_than: string;
  newer_than: string;
  machine: string;
  user: string;
}

const EMPTY: RequestFilters = {
  state: 'pending',
  older_than: '',
  newer_than: '',
  machine: '',
  user: '',
};

export class RequestsPage {
  filters = $state<RequestFilters>({ ...EMPTY });
  list = $state<RequestSummary[]>([]);
  total = $state(0);
  selected = $state<RequestDetail | null>(null);

  constructor(private readonly desk: Desk) {}

  async load(params: URLSearchParams, id?: number): Promise<void> {
    const stale = this.desk.stale;
    this.filters = filtersFrom(params, EMPTY);
    const [list, detail] = await Promise.all([
      api<{ requests: RequestSummary[]; total: number }>(
        'GET',
        `/requests${queryString({ ...this.filters })}`,
      ),
      id === undefined ? Promise.resolve(null) : api<RequestDetail>('GET', `/requests/${id}`),
    ]);
    if (stale()) return;
    this.list = list.requests;
    this.total = list.total;
    if (this.selected?.request.id !== detail?.request.id) this.desk.notice = '';
    this.selected = detail;
  }

  /** The queue with the current filters, or one request in it. */
  href(id?: number, filters: RequestFilters = this.filters): string {
    const query = queryString({
      ...filters,
      state: filters.state === EMPTY.state ? '' : filters.state,
    });
    return `/console/requests${id === undefined ? '' : `/${id}`}${query}`;
  }

  /** One request, in the queue with the current filters but in any state, so that it is listed. */
  hrefInAll(id: number): string {
    return this.href(id, { ...this.filters, state: 'all' });
  }

  async apply(): Promise<void> {
    await this.desk.go(this.href(this.selected?.request.id));
  }

  async clear(): Promise<void> {
    await this.desk.go(this.href(undefined, { ...EMPTY }));
  }

  async decide(action: 'approve' | 'deny' | 'ask', body: Record<string, unknown>): Promise<void> {
    if (!this.selected) return;
    const id = this.selected.request.id;
    this.desk.error = '';
    await this.desk.run(async () => {
      const updated = await api<{ state: string }>('POST', `/requests/${id}/${action}`, body);
      await this.desk.show();
      this.desk.notice = `Request ${id} is now ${updated.state}.`;
    });
  }
}
