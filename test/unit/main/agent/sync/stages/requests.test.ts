import { describe, expect, it } from 'vitest';
import {
  deliverRequests,
  refreshRequests,
  replyToRequest,
} from '../../../../../../main/agent/sync/stages/requests';
import type { StoredRequest } from '../../../../../../main/agent/store/requests';
import { context, fakeAgent, storedEvent } from '../fake-agent';
import { json, transport } from '../fake-server';

function request(id: number, state: StoredRequest['state'], serverId: string | null = null) {
  return {
    id,
    eventId: id,
    uid: 4_000_000,
    justification: 'I need it for the build',
    state,
    serverId,
    messages: [],
    createdAt: 0,
  };
}

describe('approval requests stage', () => {
  it('delivers queued requests with their event, and keeps what the backend answers', async () => {
    const fake = fakeAgent();
    fake.events.push(storedEvent(1));
    fake.requests.push(request(1, 'queued'));
    const { transport: t, sent } = transport(() => json({ id: 77, state: 'pending' }, 201), {
      token: 'tok',
    });
    expect(await deliverRequests(context(fake, t))).toBe(1);
    expect(sent[0]).toMatchObject({
      url: 'http://sync.test/api/v1/requests',
      body: { client_request_id: '1', requester: 'uid 4000000', event: { file_name: 'bin-1' } },
    });
    expect(fake.requests[0]).toMatchObject({ serverId: '77', state: 'pending' });
  });

  it('stops at a server without the API', async () => {
    const fake = fakeAgent();
    fake.events.push(storedEvent(1), storedEvent(2));
    fake.requests.push(request(1, 'queued'), request(2, 'queued'));
    const { transport: t, sent } = transport(() => json('', 404), { token: 'tok' });
    expect(await deliverRequests(context(fake, t))).toBe(0);
    expect(sent).toHaveLength(1);
  });

  it('brings open requests up to date from the list', async () => {
    const fake = fakeAgent();
    fake.requests.push(request(1, 'pending', '77'));
    const { transport: t } = transport(
      () =>
        json({
          requests: [
            {
              id: 77,
              client_request_id: '1',
              state: 'needs-info',
              messages: [{ author: 'helpdesk', author_name: 'Bo', body: 'Which build?', at: 5 }],
            },
          ],
        }),
      { token: 'tok' },
    );
    expect(await refreshRequests(context(fake, t))).toBe(1);
    expect(fake.requests[0]).toMatchObject({
      state: 'needs-info',
      messages: [{ author: 'helpdesk', authorName: 'Bo', body: 'Which build?', at: 5 }],
    });
  });

  it('refuses a reply to a request the helpdesk has not seen', async () => {
    const fake = fakeAgent();
    fake.requests.push(request(1, 'queued'));
    const { transport: t } = transport(() => json({}), { token: 'tok' });
    await expect(replyToRequest(context(fake, t), 1, 'the build')).rejects.toThrow(
      'reply: this request has not reached the helpdesk yet; try again after the next sync',
    );
    await expect(replyToRequest(context(fake, t), 9, 'x')).rejects.toThrow(
      'reply: there is no request 9',
    );
  });
});
