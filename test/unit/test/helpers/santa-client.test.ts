// The stock-client simulator against a recording stub on 127.0.0.1: its requests are what Santa
// sends (the JSON form byte for byte, the binary form, each compression, the headers), and it
// reads answers as Santa does (XSSI prefix, unknown keys, the deprecated clean_sync, empty pages).
import { createServer, type IncomingMessage } from 'node:http';
import { gunzipSync, inflateSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { santaMessage } from '../../../../server/santa/sync-v1';
import { SantaClient, type SantaClientOptions } from '../../../helpers/santa-client';

interface Seen {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

const MACHINE = '6F1D2C3B-0A9E-4B8C-9D7E-123456789ABC';
let base = '';
let seen: Seen[] = [];
/** The stub's answer per stage: a body and its content type. */
let answers: Record<string, string | Buffer> = {};
const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    seen.push({ path: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks) });
    const stage = (request.url ?? '').split('/')[2] ?? '';
    response.writeHead(200).end(answers[stage] ?? '');
  });
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}/santa`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));
beforeEach(() => {
  seen = [];
  answers = {};
});

const client = (options: Partial<SantaClientOptions> = {}) =>
  new SantaClient({
    syncBaseURL: base,
    machineId: MACHINE,
    headers: { Authorization: 'Bearer fleet', 'Content-Type': 'text/plain' },
    facts: {
      serial_number: 'C02GH0USE1',
      hostname: 'ada-mbp.corp.example',
      os_version: '15.5',
      os_build: '24F74',
      model_identifier: 'Mac15,7',
      santa_version: '2026.1.12345',
      primary_user: 'ada',
      client_mode: 'MONITOR',
      sip_status: 111,
      rules_hash: 'rules-hash-1',
    },
    ...options,
  });

describe('SantaClient', () => {
  it("sends a preflight as Santa's JSON: JSON names, camelCase where there is none, no defaults", async () => {
    await client({ compression: 'none' }).sync();
    expect(seen[0]!.path).toBe(`/santa/preflight/${MACHINE}`);
    expect(String(seen[0]!.body)).toBe(
      `{"serial_num":"C02GH0USE1","hostname":"ada-mbp.corp.example","os_version":"15.5","os_build":"24F74","model_identifier":"Mac15,7","santa_version":"2026.1.12345","primary_user":"ada","client_mode":"MONITOR","machine_id":"${MACHINE}","sipStatus":111,"rulesHash":"rules-hash-1"}`,
    );
    expect(seen[0]!.headers).toMatchObject({
      'content-type': 'application/json',
      authorization: 'Bearer fleet',
      'user-agent': expect.stringMatching(/^santactl-sync\//),
    });
    expect(seen[0]!.headers['content-encoding']).toBeUndefined();
  });

  it('compresses with deflate by default, or gzip, and sends binary with SyncEnableProtoTransfer', async () => {
    await client().post('ruledownload', { cursor: '7' });
    expect(seen[0]!.headers['content-encoding']).toBe('deflate');
    expect(String(inflateSync(seen[0]!.body))).toBe(`{"cursor":"7","machine_id":"${MACHINE}"}`);

    await client({ compression: 'gzip', transfer: 'binary' }).post('ruledownload', {
      cursor: '7',
    });
    expect(seen[1]!.headers).toMatchObject({
      'content-encoding': 'gzip',
      'content-type': 'application/x-protobuf',
    });
    const request = santaMessage('ruledownload', 'Request').decode(gunzipSync(seen[1]!.body));
    expect(request.toJSON()).toEqual({ cursor: '7', machine_id: MACHINE });
  });

  it('reads answers as Santa does: XSSI prefix, unknown keys, either name, the deprecated clean_sync', async () => {
    answers.preflight = `)]}'\n{"clean_sync":true,"full_sync_interval":900,"batchSize":5,"future_key":{"a":1},"client_mode":"LOCKDOWN"}`;
    answers.ruledownload = JSON.stringify({
      rules: [
        { identifier: 'a'.repeat(64), policy: 'BLOCKLIST', rule_type: 'BINARY' },
        { sha256: 'b'.repeat(64), policy: 'WHITELIST', rule_type: 'BINARY' },
        { identifier: 'c'.repeat(64), policy: 'POLICY_NOT_KNOWN', rule_type: 'BINARY' },
      ],
    });
    const mac = client({ compression: 'none' });
    mac.addTransitiveRule('d'.repeat(64));
    const report = await mac.sync({ clean: 'CLEAN_ALL' });
    expect(report).toMatchObject({ syncType: 'CLEAN_ALL', processed: 2, pages: [3] });
    expect(mac.preflight).toMatchObject({ full_sync_interval_seconds: 900, batch_size: 5 });
    expect(mac.clientMode).toBe('LOCKDOWN');
    expect(mac.rules.map((rule) => `${rule.identifier[0]} ${rule.policy}`)).toEqual([
      'a BLOCKLIST',
      'b ALLOWLIST',
    ]);
    const postflight = JSON.parse(String(seen.at(-1)!.body)) as Record<string, unknown>;
    expect(postflight).toEqual({
      rules_received: 3,
      rules_processed: 2,
      machine_id: MACHINE,
      syncType: 'CLEAN_ALL',
    });
  });

  it('parses as strictly as Santa since 2024.6: a cursor that is a number fails the sync', async () => {
    answers.ruledownload = '{"rules":[],"cursor":5}';
    await expect(client({ compression: 'none' }).sync()).rejects.toThrow(/cursor: expected string/);
    answers.ruledownload = '{"rules":[]}';
    expect((await client({ compression: 'none' }).sync()).pages).toEqual([0]);
  });

  it('keeps its rules when a clean sync brings none, and asks again until one is done', async () => {
    answers.preflight = JSON.stringify({ sync_type: 'CLEAN' });
    const mac = client({ compression: 'none' });
    mac.held.set('kept', { identifier: 'e'.repeat(64), rule_type: 'BINARY', policy: 'ALLOWLIST' });
    expect((await mac.sync()).syncType).toBe('CLEAN');
    expect(mac.rules).toHaveLength(1);
    const asked = () =>
      (JSON.parse(String(seen.at(-3)!.body)) as Record<string, unknown>).request_clean_sync;
    answers.preflight = '{}';
    expect((await mac.sync({ clean: 'CLEAN' })).syncType).toBe('NORMAL');
    expect(asked()).toBe(true);
    await mac.sync();
    expect(asked()).toBe(true);
    answers.preflight = JSON.stringify({ sync_type: 'CLEAN' });
    await mac.sync();
    answers.preflight = '{}';
    await mac.sync();
    expect(asked()).toBeUndefined();
  });
});
