// Where the console is: one URL per page and filter set, so that any view can be shared as a link.
import { searchParams } from '../format';

export const BASE = '/console';

export type Route =
  | { page: 'requests'; id?: number }
  | { page: 'audit' }
  | { page: 'machines' }
  | { page: 'machine'; id: string }
  | { page: 'rules' }
  | { page: 'posture' }
  | { page: 'settings' }
  | { page: 'enrollment' }
  | { page: 'missing' };

export function parseRoute(path: string): Route {
  const rest = path.startsWith(BASE) ? path.slice(BASE.length) : path;
  const parts = rest.split('/').filter(Boolean);
  const [first, second] = parts;
  if (parts.length === 0) return { page: 'requests' };
  if (first === 'requests' && parts.length === 1) return { page: 'requests' };
  if (first === 'requests' && parts.length === 2 && /^\d+$/.test(second!))
    return { page: 'requests', id: Number(second) };
  if (first === 'audit' && parts.length === 1) return { page: 'audit' };
  if (first === 'machines' && parts.length === 1) return { page: 'machines' };
  if (first === 'machines' && parts.length === 2) {
    try {
      return { page: 'machine', id: decodeURIComponent(second!) };
    } catch {
      return { page: 'missing' };
    }
  }
  if (first === 'rules' && parts.length === 1) return { page: 'rules' };
  if (first === 'posture' && parts.length === 1) return { page: 'posture' };
  if (first === 'settings' && parts.length === 1) return { page: 'settings' };
  if (first === 'enrollment' && parts.length === 1) return { page: 'enrollment' };
  return { page: 'missing' };
}

export class Router {
  path = $state(location.pathname);
  search = $state(location.search);
  route = $derived(parseRoute(this.path));
  params = $derived(searchParams(this.search));

  /** Goes to a console path with its query (`/console/...`), adding it to the history unless `replace`. */
  go(url: string, replace = false): void {
    if (replace) history.replaceState(null, '', url);
    else if (url !== location.pathname + location.search) history.pushState(null, '', url);
    this.sync();
  }

  /** Takes the address bar's URL (after the back and forward buttons). */
  sync(): void {
    this.path = location.pathname;
    this.search = location.search;
  }
}
