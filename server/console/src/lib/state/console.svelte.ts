import { api, ApiError, setCsrfToken } from '../api';

export interface Me {
  username: string;
  role: 'viewer' | 'helpdesk' | 'admin';
  csrfToken: string;
}

export interface RequestSummary {
  id: number;
  machine_id: string;
  requester: string;
  file_name: string;
  file_path: string;
  file_sha256: string;
  justification: string;
  state: string;
  created_at: number;
}

export interface RequestDetail {
  request: RequestSummary;
  messages: { author: string; author_name: string; body: string; created_at: number }[];
  prevalence: number;
  machine: {
    hostname: string | null;
    primary_user: string | null;
    client_mode: string | null;
  } | null;
  earlier: { id: number; state: string; machine_id: string }[];
}

export class ConsoleState {
  me = $state<Me | null>(null);
  checked = $state(false);
  filter = $state('pending');
  requests = $state<RequestSummary[]>([]);
  selected = $state<RequestDetail | null>(null);
  error = $state('');
  notice = $state('');
  canDecide = $derived(this.me !== null && this.me.role !== 'viewer');

  async restore(): Promise<void> {
    try {
      this.#signedIn(await api<Me>('GET', '/me'));
      await this.load();
    } catch {
      this.me = null;
    } finally {
      this.checked = true;
    }
  }

  async login(username: string, password: string): Promise<void> {
    this.error = '';
    try {
      this.#signedIn(await api<Me>('POST', '/login', { username, password }));
      await this.load();
    } catch (error) {
      this.error = (error as Error).message;
    }
  }

  async load(): Promise<void> {
    const { requests } = await api<{ requests: RequestSummary[] }>(
      'GET',
      `/requests?state=${encodeURIComponent(this.filter)}`,
    );
    this.requests = requests;
  }

  async open(id: number): Promise<void> {
    this.notice = '';
    this.selected = await api<RequestDetail>('GET', `/requests/${id}`);
  }

  async decide(action: 'approve' | 'deny' | 'ask', body: Record<string, unknown>): Promise<void> {
    if (!this.selected) return;
    this.error = '';
    try {
      const id = this.selected.request.id;
      const updated = await api<{ state: string }>('POST', `/requests/${id}/${action}`, body);
      // Said after the refresh: opening a request clears the last notice.
      await this.open(id);
      await this.load();
      this.notice = `Request ${id} is now ${updated.state}.`;
    } catch (error) {
      this.error = error instanceof ApiError ? error.message : String(error);
    }
  }

  #signedIn(me: Me): void {
    setCsrfToken(me.csrfToken);
    this.me = me;
  }
}
