// One machine's round trip, short of the kernel and the UI: a block, a request written while the
// backend is down (kept, queued), delivered once it is up, approved by the helpdesk, and the
// approval and the rule back on the machine, where the binary is then allowed.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Agent } from '../../main/agent/agent';
import { parseConfig } from '../../main/agent/config/config';
import { ControlClient } from '../../main/agent/control/client';
import { ControlServer } from '../../main/agent/control/server';
import { SyncClient, SyncError } from '../../main/agent/sync/client';
import { copyExecutable } from '../helpers/files';
import { useScratch } from '../helpers/scratch';
import { startTestServer } from '../helpers/server';

describe('approval round trip (fake exec source, real backend, real socket)', () => {
  const { dir, cleanups } = useScratch('roundtrip');

  it('keeps a request written while the backend is down, and brings back the approval', async () => {
    const { config } = parseConfig(
      JSON.stringify({
        ClientMode: 'LOCKDOWN',
        StateDir: join(dir, 'agent'),
        SocketPath: join(dir, 'gh.sock'),
        MachineID: 'rt-1',
      }),
      '/t',
      () => 'm',
    );
    const agent = new Agent(config, { backend: 'fake' });
    agent.start();
    cleanups.push(() => agent.stop());
    const control = new ControlServer(agent, config.socketPath);
    await control.listen();
    cleanups.push(() => control.close());

    const me = { pid: 7001, ppid: 1, uid: process.getuid!(), gid: process.getgid!() };
    const tool = copyExecutable('/bin/true', join(dir, 'release-tool'), `rt-${Date.now()}`);
    expect(await agent.monitor.inject(tool, me)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 50));

    const ui = await ControlClient.connect(config.socketPath);
    cleanups.push(() => ui.close());
    const pushed: { method: string; params: { state?: string } }[] = [];
    ui.onNotification((method, params) =>
      pushed.push({ method, params: params as { state?: string } }),
    );
    await ui.call('subscribe');
    const [event] = await ui.call<{ id: number }[]>('events');
    const request = await ui.call<{ id: number; state: string }>('requests.create', {
      eventId: event!.id,
      justification: 'Needed to cut the release tonight.',
    });
    expect(request.state).toBe('queued');

    // The backend is down: the sync fails and the request stays queued, nothing lost.
    const down = new SyncClient(agent, {
      baseUrl: 'http://127.0.0.1:9/santa/',
      machineId: 'rt-1',
      token: 'x',
      retries: 0,
    });
    await expect(down.sync()).rejects.toBeInstanceOf(SyncError);
    expect(agent.requests.get(request.id)?.state).toBe('queued');

    const { repos, base: address, close } = await startTestServer();
    cleanups.push(close);
    const token = await repos.machines.enroll('rt-1', {});
    const sync = new SyncClient(agent, {
      baseUrl: `${address}/santa/`,
      machineId: 'rt-1',
      token,
      retries: 0,
    });

    const delivered = await sync.sync();
    expect(delivered.requestsDelivered).toBe(1);
    const [queued] = await repos.requests.queue();
    expect(queued).toMatchObject({
      file_name: 'release-tool',
      justification: 'Needed to cut the release tonight.',
      machine_id: 'rt-1',
    });
    expect(agent.requests.get(request.id)?.state).toBe('pending');

    await repos.requests.approve(queued!.id, {
      scope: 'machine',
      actor: 'helpdesk:grace',
      message: 'Go ahead.',
    });
    const after = await sync.sync();
    expect(after.requestsUpdated).toBe(1);
    expect(agent.requests.get(request.id)).toMatchObject({
      state: 'approved',
      messages: [{ author: 'helpdesk', body: 'Go ahead.' }],
    });
    expect(await agent.monitor.inject(tool, me)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(pushed.filter((p) => p.method === 'request').map((p) => p.params.state)).toEqual([
      'queued',
      'pending',
      'approved',
    ]);
  });
});
