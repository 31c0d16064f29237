// One JSON request over node:http or node:https, for tests that need what fetch does not give:
// a chosen source address (127.0.0.2 is another caller on loopback) or TLS client options (a CA
// to trust, a client certificate to present).
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';

export interface JsonReply {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  headers: IncomingHttpHeaders;
}

/** TLS options for https URLs: ca, cert, key (PEM). */
export type TlsClient = Pick<RequestOptions, 'ca' | 'cert' | 'key'>;

export function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  localAddress?: string,
  tls: TlsClient = {},
): Promise<JsonReply> {
  const payload = Buffer.from(JSON.stringify(body));
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(
      target,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        ...(localAddress ? { localAddress } : {}),
        ...tls,
        // A fresh connection each time, so that each request shows its own certificate.
        agent: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          resolve({
            status: response.statusCode ?? 0,
            body: text ? (JSON.parse(text) as unknown) : {},
            headers: response.headers,
          });
        });
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}
