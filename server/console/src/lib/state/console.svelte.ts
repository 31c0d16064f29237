import { api, ApiError, setCsrfToken } from '../api';
import type { SignedOut } from '../../../../schemas/sso';
import type { Me } from '../types';
import type { Desk } from './desk';
import { AuditPage } from './audit.svelte';
import { MachinePage, MachinesPage } from './machines.svelte';
import { RequestsPage } from './requests.svelte';
import { Router } from './router.svelte';
import { RulesPage } from './rules.svelte';

export class ConsoleState implements Desk {
  me = $state<Me | null>(null);
  checked = $state(false);
  error = $state('');
  notice = $state('');
  loading = $state(false);
  readonly router = new Router();
  readonly requests = new RequestsPage(this);
  readonly audit = new AuditPage(this);
  readonly machines = new MachinesPage(this);
  readonly machine = new MachinePage(this);
  readonly rules = new RulesPage(this);
  canDecide = $derived(this.me !== null && this.me.role !== 'viewer');
  isAdmin = $derived(this.me?.role === 'admin');

  async restore(): Promise<void> {
    addEventListener('popstate', () => {
      this.router.sync();
      void this.show();
    });
    try {
      this.#signedIn(await api<Me>('GET', '/me'));
      await this.show();
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
      await this.show();
    } catch (error) {
      this.error = (error as Error).message;
    }
  }

  async logout(): Promise<void> {
    await this.run(async () => {
      const out = await api<SignedOut>('POST', '/logout', {});
      this.me = null;
      setCsrfToken('');
      // A single sign-on session ends at the provider too (RP-initiated logout), or says why not.
      if (out.end_session_url) location.assign(out.end_session_url);
      else if (out.notice) this.notice = out.notice;
    });
  }

  /** Goes to a console URL and loads what it shows. */
  async go(url: string, replace = false): Promise<void> {
    this.router.go(url, replace);
    await this.show();
  }

  #shown = 0;

  /** Loads the page the URL names. */
  async show(): Promise<void> {
    if (!this.me) return;
    const shown = ++this.#shown;
    this.stale = () => shown !== this.#shown;
    this.error = '';
    const route = this.router.route;
    const params = this.router.params;
    this.loading = true;
    await this.run(async () => {
      if (route.page === 'requests') await this.requests.load(params, route.id);
      else if (route.page === 'audit') await this.audit.load(params);
      else if (route.page === 'machines') await this.machines.load(params);
      else if (route.page === 'machine') await this.machine.load(route.id);
      else if (route.page === 'rules') await this.rules.load(params);
    });
    if (shown === this.#shown) this.loading = false;
  }

  /** True once a newer page load has started: an older answer must not overwrite it. */
  stale: () => boolean = () => false;

  /** Runs a call to the API; its error is shown, and an expired session asks for a login. */
  async run(work: () => Promise<void>): Promise<boolean> {
    try {
      await work();
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) this.me = null;
      this.error = error instanceof Error ? error.message : String(error);
      return false;
    }
  }

  #signedIn(me: Me): void {
    setCsrfToken(me.csrfToken);
    this.me = me;
  }
}
