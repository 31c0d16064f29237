// A sync server as a fetch function: each request is recorded (body inflated) and answered by the
// handler, so that the stages and the transport are tested without a network or the backend.
import { inflateSync } from 'node:zlib';
import { SyncTransport } from '../../../../../main/agent/sync/transport';

export interface Sent {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: Record<string, unknown> | undefined;
}

export type Handler = (sent: Sent) => Response | Promise<Response>;

export function json(body: unknown, status = 200): Response {
  return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status });
}

export function fakeServer(handler: Handler): { fetch: typeof fetch; sent: Sent[] } {
  const sent: Sent[] = [];
  const fetchImpl = async (input: string | URL | Request, init?: RequestInit) => {
    const raw = init?.body as Uint8Array | string | undefined;
    // Santa's stages deflate their bodies; enrollment, outside the protocol, does not.
    const text = typeof raw === 'string' ? raw : raw && inflateSync(raw).toString();
    const request: Sent = {
      method: init?.method ?? 'GET',
      url: String(input),
      headers: { ...(init?.headers as Record<string, string>) },
      body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
    };
    sent.push(request);
    return handler(request);
  };
  return { fetch: fetchImpl as typeof fetch, sent };
}

export function transport(
  handler: Handler,
  options: { token?: string; retries?: number } = {},
): { transport: SyncTransport; sent: Sent[] } {
  const server = fakeServer(handler);
  return {
    transport: new SyncTransport({
      baseUrl: 'http://sync.test/santa',
      machineId: 'machine 1',
      fetch: server.fetch,
      retries: options.retries ?? 0,
      retryDelayMs: 1,
      ...(options.token ? { token: options.token } : {}),
    }),
    sent: server.sent,
  };
}
