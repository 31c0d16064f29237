// A machine's push stream as a test reads it: Server-Sent Events over real HTTP, the event names
// and comments it heard, its status and Retry-After, and whether the server ended it.
export interface StreamListener {
  readonly events: string[];
  /** The comment lines (": ...") after the first, e.g. why the server closed the stream. */
  readonly comments: string[];
  status(): number;
  retryAfter(): string | null;
  /** True once the server ended the stream. */
  ended(): boolean;
  stop(): void;
  readonly done: Promise<void>;
}

export function listen(url: string, token: string): StreamListener {
  const abort = new AbortController();
  const events: string[] = [];
  const comments: string[] = [];
  let status = 0;
  let retryAfter: string | null = null;
  let ended = false;
  const done = (async () => {
    const response = await fetch(url, {
      headers: { authorization: `Bearer ${token}` },
      signal: abort.signal,
    });
    status = response.status;
    retryAfter = response.headers.get('retry-after');
    if (status !== 200 || !response.body) return void (await response.text());
    let buffer = '';
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += Buffer.from(chunk).toString();
      const complete = buffer.slice(0, buffer.lastIndexOf('\n') + 1);
      for (const match of complete.matchAll(/^event: (.+)$/gm)) events.push(match[1]!);
      for (const match of complete.matchAll(/^: (.+)$/gm))
        if (match[1] !== 'connected' && match[1] !== 'keep-alive') comments.push(match[1]!);
      buffer = buffer.slice(complete.length);
    }
    ended = true;
  })().catch(() => undefined);
  return {
    events,
    comments,
    status: () => status,
    retryAfter: () => retryAfter,
    ended: () => ended,
    stop: () => abort.abort(),
    done,
  };
}
