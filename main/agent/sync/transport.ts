// One HTTP exchange with the sync server, as santasyncservice's SNTSyncStage performs it: bodies
// deflated, redirects refused, an XSSI prefix stripped, and retries with backoff except where a
// retry cannot help (a 4xx other than 408 and 429).
import { deflateSync } from 'node:zlib';
import { PRODUCT_VERSION } from '../../../common/version';
import { SyncError } from './errors';
import { apiUrl, stageUrl, syncUrl } from './url';

export interface SyncClientOptions {
  readonly baseUrl: string;
  readonly machineId: string;
  /** Sent as Authorization: Bearer (a Gatehouse machine token, or one from SyncExtraHeaders). */
  readonly token?: string;
  readonly fetch?: typeof fetch;
  readonly retries?: number;
  readonly retryDelayMs?: number;
  readonly timeoutMs?: number;
}

export interface Reply {
  readonly status: number;
  readonly body: unknown;
}

export class SyncTransport {
  readonly #options: SyncClientOptions;

  constructor(options: SyncClientOptions) {
    // A base URL that is not one fails here, where the client is made, not at its first sync.
    syncUrl(options.baseUrl, '');
    this.#options = options;
  }

  get machineId(): string {
    return this.#options.machineId;
  }

  /** Whether requests carry a token: Gatehouse's API is only used with one. */
  get authenticated(): boolean {
    return Boolean(this.#options.token);
  }

  /** A Santa stage: POST `<base>/<stage>/<machine_id>`; anything but a 200 fails the sync. */
  async stage(stage: string, body: unknown): Promise<unknown> {
    const url = stageUrl(this.#options.baseUrl, stage, this.#options.machineId);
    return (await this.send('POST', url, body, stage, [200])).body;
  }

  /** Gatehouse's API at `<base>/../api/v1/<path>`; the reply when its status is one of `accept`. */
  api(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    what: string,
    accept: number[],
  ): Promise<Reply> {
    return this.send(method, apiUrl(this.#options.baseUrl, path), body, what, accept);
  }

  /** One request with retries; the answer when its status is one of `accept`. */
  async send(
    method: 'GET' | 'POST',
    url: URL,
    body: unknown,
    what: string,
    accept: number[],
  ): Promise<Reply> {
    const payload = body === undefined ? undefined : deflateSync(Buffer.from(JSON.stringify(body)));
    const attempts = (this.#options.retries ?? 3) + 1;
    let lastError = '';
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await sleep((this.#options.retryDelayMs ?? 500) * 2 ** (attempt - 1));
      let response: Response;
      try {
        response = await this.#request(method, url, payload);
      } catch (error) {
        lastError = `${what}: cannot reach ${url.origin} (${(error as Error).message})`;
        continue;
      }
      const text = await response.text();
      if (accept.includes(response.status)) return parseReply(response.status, text, what);
      lastError = `${what}: the server answered ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`;
      if (!worthRetrying(response.status)) break;
    }
    throw new SyncError(lastError);
  }

  #request(method: 'GET' | 'POST', url: URL, payload: Buffer | undefined): Promise<Response> {
    const token = this.#options.token;
    return (this.#options.fetch ?? fetch)(url, {
      method,
      headers: {
        ...(payload ? { 'content-type': 'application/json', 'content-encoding': 'deflate' } : {}),
        'user-agent': `gatehouse-sync/${PRODUCT_VERSION}`,
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      ...(payload ? { body: new Uint8Array(payload) } : {}),
      redirect: 'error',
      signal: AbortSignal.timeout(this.#options.timeoutMs ?? 30_000),
    });
  }
}

function parseReply(status: number, text: string, what: string): Reply {
  // Santa strips an XSSI prefix before parsing; a 404's body is only the server's "not here".
  const json = status === 404 ? '' : text.replace(/^\)\]\}'\n|^\]\)\}/, '');
  if (json.trim() === '') return { status, body: {} };
  try {
    return { status, body: JSON.parse(json) as unknown };
  } catch {
    throw new SyncError(
      `${what}: the server's answer is not JSON; nothing from this sync was applied`,
    );
  }
}

/** A client error other than a timeout or a rate limit would only be refused again. */
function worthRetrying(status: number): boolean {
  return !(status >= 400 && status < 500 && status !== 408 && status !== 429);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
