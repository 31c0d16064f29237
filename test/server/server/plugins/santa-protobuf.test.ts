// Santa's binary transfer at the HTTP level: what a protobuf request may look like, what comes
// back, and how a hostile or broken body is refused (a 4xx that says what was wrong, nothing
// stored).
import { deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_MESSAGES, santaMessage } from '../../../../server/santa/sync-v1';
import { ENGINES, startTestServer, type TestServer } from '../../../helpers/server';

const SECRET = 'protobuf-fleet-secret';
const PROTOBUF = 'application/x-protobuf';

describe.each(ENGINES)('application/x-protobuf on %s', (engine) => {
  let server: TestServer;
  let token: string;
  const machineId = 'proto-mac';

  beforeAll(async () => {
    server = await startTestServer(engine, { enrollmentSecret: SECRET });
    const enrolled = await fetch(`${server.base}/api/v1/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ enrollment_secret: SECRET, machine_id: machineId }),
    });
    ({ token } = (await enrolled.json()) as { token: string });
  }, 60_000);
  afterAll(() => server?.close());

  async function post(
    path: string,
    body: Uint8Array,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; type: string | null; body: Buffer }> {
    const response = await fetch(`${server.base}${path}`, {
      method: 'POST',
      headers: { 'content-type': PROTOBUF, authorization: `Bearer ${token}`, ...headers },
      body: new Uint8Array(body),
    });
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      body: Buffer.from(await response.arrayBuffer()),
    };
  }

  const preflight = santaMessage('preflight', 'Request');
  const encodedPreflight = preflight
    .encode(preflight.fromObject({ machine_id: machineId, client_mode: 'LOCKDOWN' }))
    .finish();

  it('answers a binary preflight with the binary response, compressed or not', async () => {
    for (const [encoding, body] of [
      ['identity', encodedPreflight],
      ['deflate', deflateSync(encodedPreflight)],
      ['gzip', gzipSync(encodedPreflight)],
    ] as const) {
      const reply = await post(`/santa/preflight/${machineId}`, body, {
        'content-encoding': encoding,
      });
      expect(reply.status).toBe(200);
      expect(reply.type).toBe(PROTOBUF);
      const answer = santaMessage('preflight', 'Response').decode(reply.body);
      expect(answer.toJSON()).toMatchObject({ batch_size: 50, full_sync_interval_seconds: 600 });
    }
    expect((await server.repos.machines.get(machineId))?.client_mode).toBe('LOCKDOWN');
  });

  it('takes an empty body as the empty message, and answers postflight with no bytes', async () => {
    expect((await post(`/santa/preflight/${machineId}`, new Uint8Array())).status).toBe(200);
    const reply = await post(`/santa/postflight/${machineId}`, new Uint8Array());
    expect(reply).toMatchObject({ status: 200, type: PROTOBUF });
    expect(reply.body.length).toBe(0);
  });

  it('refuses bytes that are not the stage message, saying which message it expected', async () => {
    const before = await server.repos.events.count(machineId);
    const reply = await post(`/santa/eventupload/${machineId}`, Buffer.from('{"events":[]}'));
    expect(reply.status).toBe(400);
    expect(reply.type).toMatch(/^application\/json/);
    expect(JSON.parse(String(reply.body))).toEqual({
      error: expect.stringMatching(
        /^eventupload: the body is not a binary santa\.sync\.v1\.EventUploadRequest \(.+\); send the stage's protobuf message, or JSON as application\/json$/,
      ),
    });
    // An event whose length runs past the end of the body.
    const truncated = Buffer.from([0x0a, 0x10, 0x0a, 0x40]);
    expect((await post(`/santa/eventupload/${machineId}`, truncated)).status).toBe(400);
    expect(await server.repos.events.count(machineId)).toBe(before);
  });

  it('refuses a body of more messages than it may build, before building them', async () => {
    // 4 Mi empty events in 8 MiB: decoded, they would take over a gigabyte.
    const events = Buffer.alloc(8 * 1024 * 1024);
    for (let at = 0; at < events.length; at += 2) events[at] = 0x0a;
    const reply = await post(`/santa/eventupload/${machineId}`, gzipSync(events), {
      'content-encoding': 'gzip',
    });
    expect(reply.status).toBe(400);
    expect(JSON.parse(String(reply.body))).toEqual({
      error: `eventupload: the body holds more than ${MAX_MESSAGES} messages (events, certificates, entitlements...); send fewer per request`,
    });
  });

  it('checks a decoded message as strictly as JSON: an unknown enum number is refused', async () => {
    const body = preflight.encode(preflight.fromObject({ client_mode: 7 })).finish();
    const reply = await post(`/santa/preflight/${machineId}`, body);
    expect(reply.status).toBe(400);
    expect(JSON.parse(String(reply.body))).toEqual({
      error: 'preflight: client_mode must be MONITOR, LOCKDOWN or STANDALONE',
    });
  });

  it('limits the decompressed size, and checks the token before decoding', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    const large = await post(`/santa/eventupload/${machineId}`, bomb, {
      'content-encoding': 'gzip',
    });
    expect(large.status).toBe(413);
    const anonymous = await post(`/santa/preflight/${machineId}`, Buffer.from([0xff]), {
      authorization: '',
    });
    expect(anonymous.status).toBe(401);
  });

  it('is only for the Santa routes', async () => {
    const reply = await post('/api/v1/requests', encodedPreflight);
    expect(reply.status).toBe(415);
  });
});
