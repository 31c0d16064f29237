// The portal's state: who is signed in, which page the URL names, the blocked program it shows,
// the person's requests. Open requests are polled, so an approval shows without a reload.
import type {
  Blocked,
  PortalCreated,
  PortalMe,
  PortalRequest,
  PortalRequestList,
} from '../../../schemas/portal';
import type { SignedOut } from '../../../schemas/sso';
import { api, ApiError, setCsrfToken } from './api';
import { blockedQuery, linkOf } from './link';

export type Page = 'blocked' | 'requests';
const POLL_MS = 4000;

export class PortalState {
  me = $state<PortalMe | null>(null);
  checked = $state(false);
  page = $state<Page>('requests');
  blocked = $state<Blocked | null>(null);
  /** Why the blocked page cannot show the program: the server's sentence. */
  problem = $state('');
  requests = $state<PortalRequest[]>([]);
  error = $state('');
  notice = $state('');
  busy = $state(false);
  readonly link = linkOf(location.search);
  #poll: ReturnType<typeof setInterval> | undefined;

  get signInHref(): string {
    return `/portal/api/sso/login?return=${encodeURIComponent(location.pathname + location.search)}`;
  }

  async start(): Promise<void> {
    this.page = location.pathname.startsWith('/portal/blocked') ? 'blocked' : 'requests';
    try {
      const me = await api<PortalMe>('GET', '/me');
      setCsrfToken(me.csrfToken);
      this.me = me;
      await this.refresh();
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401))
        this.error = (error as Error).message;
    } finally {
      this.checked = true;
    }
  }

  async refresh(): Promise<void> {
    const [list] = await Promise.all([
      api<PortalRequestList>('GET', '/requests'),
      this.page === 'blocked' ? this.#loadBlocked() : undefined,
    ]);
    this.requests = list.requests;
    this.#pollWhileOpen();
  }

  async #loadBlocked(): Promise<void> {
    try {
      this.blocked = await api<Blocked>('GET', `/blocked?${blockedQuery(this.link)}`);
      this.problem = '';
    } catch (error) {
      this.blocked = null;
      this.problem = (error as Error).message;
    }
  }

  #pollWhileOpen(): void {
    const open = this.requests.some((r) => r.state === 'pending' || r.state === 'needs-info');
    if (open && !this.#poll) this.#poll = setInterval(() => void this.refresh(), POLL_MS);
    if (!open && this.#poll) {
      // What the notice said ("with the helpdesk") is over: the request is decided.
      this.notice = '';
      clearInterval(this.#poll);
      this.#poll = undefined;
    }
  }

  async submit(justification: string): Promise<boolean> {
    return this.#run(async () => {
      const created = await api<PortalCreated>('POST', '/requests', {
        ...this.link,
        justification,
      });
      this.notice = created.joined
        ? `You already asked for this program: your request #${created.request.id} goes on.`
        : `Request #${created.request.id} is with the helpdesk.`;
      await this.refresh();
    });
  }

  async reply(id: number, body: string): Promise<boolean> {
    return this.#run(async () => {
      await api('POST', `/requests/${id}/reply`, { body });
      this.notice = `Your answer to request #${id} is with the helpdesk.`;
      await this.refresh();
    });
  }

  async signOut(): Promise<void> {
    await this.#run(async () => {
      const out = await api<SignedOut>('POST', '/logout', {});
      this.me = null;
      setCsrfToken('');
      // The provider's session ends too, so that the next person at this computer signs in anew;
      // when it cannot, the notice says so.
      if (out.end_session_url) location.assign(out.end_session_url);
      else if (out.notice) this.notice = out.notice;
    });
  }

  async #run(action: () => Promise<void>): Promise<boolean> {
    this.busy = true;
    this.error = '';
    this.notice = '';
    try {
      await action();
      return true;
    } catch (error) {
      this.error = (error as Error).message;
      if (error instanceof ApiError && error.status === 401) this.me = null;
      return false;
    } finally {
      this.busy = false;
    }
  }
}
