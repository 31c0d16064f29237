import { describe, expect, it } from 'vitest';
import { SyncError } from '../../../../../main/agent/sync/errors';
import { json, transport } from './fake-server';

describe('sync transport', () => {
  it('posts a deflated JSON body to <base>/<stage>/<machine_id> with the token', async () => {
    const { transport: t, sent } = transport(() => json({ ok: true }), { token: 'tok' });
    expect(await t.stage('preflight', { a: 1 })).toEqual({ ok: true });
    expect(sent[0]).toMatchObject({
      method: 'POST',
      url: 'http://sync.test/santa/preflight/machine%201',
      body: { a: 1 },
      headers: {
        'content-encoding': 'deflate',
        'content-type': 'application/json',
        authorization: 'Bearer tok',
      },
    });
  });

  it('strips an XSSI prefix and reads an empty answer as an empty object', async () => {
    const answers = [`)]}'\n{"x":1}`, '])}{"y":2}', ''];
    const { transport: t } = transport(() => json(answers.shift()!));
    expect(await t.stage('preflight', {})).toEqual({ x: 1 });
    expect(await t.stage('preflight', {})).toEqual({ y: 2 });
    expect(await t.stage('preflight', {})).toEqual({});
  });

  it('retries a server error and a rate limit, then takes the answer', async () => {
    const statuses = [500, 429, 200];
    const { transport: t, sent } = transport(() => json({}, statuses.shift()), { retries: 3 });
    await t.stage('postflight', {});
    expect(sent).toHaveLength(3);
  });

  it("stops at a client error, with the server's reason", async () => {
    const { transport: t, sent } = transport(() => json({ error: 'no' }, 401), { retries: 3 });
    await expect(t.stage('preflight', {})).rejects.toThrow(
      'preflight: the server answered 401: {"error":"no"}',
    );
    expect(sent).toHaveLength(1);
  });

  it('says which stage could not reach which server, after every retry', async () => {
    const { transport: t, sent } = transport(
      () => {
        throw new Error('ECONNREFUSED');
      },
      { retries: 2 },
    );
    await expect(t.stage('eventupload', {})).rejects.toThrow(
      'eventupload: cannot reach http://sync.test (ECONNREFUSED)',
    );
    expect(sent).toHaveLength(3);
  });

  it('fails on an answer that is not JSON', async () => {
    const { transport: t } = transport(() => json('<html>'));
    await expect(t.stage('ruledownload', {})).rejects.toThrow(SyncError);
  });

  it("reads a 404 from Gatehouse's API as an empty answer when it is accepted", async () => {
    const { transport: t, sent } = transport(() => json('Not Found', 404), { token: 't' });
    expect(await t.api('GET', 'requests', undefined, 'requests', [200, 404])).toEqual({
      status: 404,
      body: {},
    });
    expect(sent[0]).toMatchObject({ method: 'GET', url: 'http://sync.test/api/v1/requests' });
    expect(sent[0]!.headers['content-encoding']).toBeUndefined();
  });
});
