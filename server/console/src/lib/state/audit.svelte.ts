import { api } from '../api';
import { filtersFrom, queryString } from '../format';
import type { AuditEntry } from '../types';
import type { Desk } from './desk';

export interface AuditFilters {
  actor: string;
  action: string;
  target: string;
  machine: string;
  /** ISO 8601, UTC: the same instant whoever opens the link. */
  from: string;
  to: string;
}

const EMPTY: AuditFilters = { actor: '', action: '', target: '', machine: '', from: '', to: '' };

export class AuditPage {
  filters = $state<AuditFilters>({ ...EMPTY });
  before = $state('');
  entries = $state<AuditEntry[]>([]);
  next = $state<number | null>(null);

  constructor(private readonly desk: Desk) {}

  async load(params: URLSearchParams): Promise<void> {
    const stale = this.desk.stale;
    this.filters = filtersFrom(params, EMPTY);
    this.before = params.get('before') ?? '';
    const page = await api<{ entries: AuditEntry[]; next: number | null }>(
      'GET',
      `/audit${queryString({ ...this.filters, before: this.before, limit: 50 })}`,
    );
    if (stale()) return;
    this.entries = page.entries;
    this.next = page.next;
  }

  href(filters: AuditFilters = this.filters, before = ''): string {
    return `/console/audit${queryString({ ...filters, before })}`;
  }

  async apply(): Promise<void> {
    await this.desk.go(this.href());
  }

  async clear(): Promise<void> {
    await this.desk.go(this.href({ ...EMPTY }));
  }
}
