// Push: a machine's event stream hears of rule changes and request updates; on PostgreSQL, from
// any server process (LISTEN/NOTIFY). And the agent, nudged, syncs by itself.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startSyncingAgent } from '../../helpers/agent';
import { until } from '../../helpers/wait';
import { copyExecutable, sha256sum, tempDir } from '../../helpers/files';
import { startTestServer, startTwoServerProcesses } from '../../helpers/server';
import { listen } from '../../helpers/sse';
import { binaryRule } from '../../helpers/rules';
import { PushHub } from '../../../server/push';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});
/** A backend on SQLite, as the agent tests use it; closed after the test. */
async function startServer() {
  const server = await startTestServer('sqlite', { enrollmentSecret: 'team-secret' });
  cleanups.push(() => server.close());
  return server;
}

describe('push stream', () => {
  it('tells a machine of a rule that concerns it, and refuses a stranger', async () => {
    const { repos, base } = await startServer();
    const token = await repos.machines.enroll('push-1', { primary_user: 'ada' });
    const stranger = listen(`${base}/api/v1/machines/push-1/stream`, 'wrong');
    await stranger.done;
    expect(stranger.status()).toBe(401);
    const stream = listen(`${base}/api/v1/machines/push-1/stream`, token);
    cleanups.push(() => stream.stop());
    await until(() => repos.push.connected === 1, 'the stream to connect');
    await repos.rules.put(
      binaryRule('a'.repeat(64), { scope: 'machine', scope_value: 'someone-else' }),
    );
    await repos.rules.put(binaryRule('b'.repeat(64), { scope: 'user', scope_value: 'ada' }));
    await repos.rules.put(
      binaryRule('c'.repeat(64), { scope: 'tag', scope_value: 'not-this-machine' }),
    );
    await until(() => stream.events.length >= 1, 'a push');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(stream.events).toEqual(['rules-changed']); // the other machine's rule was not announced here
  });

  it('tells the machines that carry a tag of a rule for that tag', async () => {
    const server = await startTestServer();
    cleanups.push(() => server.close());
    const token = await server.repos.machines.enroll('push-tagged', { tags: ['build-servers'] });
    const stream = listen(`${server.base}/api/v1/machines/push-tagged/stream`, token);
    cleanups.push(() => stream.stop());
    await until(() => server.repos.push.connected === 1, 'the stream to connect');
    await server.repos.rules.put(
      binaryRule('d'.repeat(64), { scope: 'tag', scope_value: 'build-servers' }),
    );
    await until(() => stream.events.includes('rules-changed'), 'the push for the tag');
  });

  it('reaches a machine connected to another server process, through PostgreSQL', async () => {
    const deployment = await startTwoServerProcesses();
    cleanups.push(() => deployment.close());
    const { one, two } = deployment;
    const token = await one.repos.machines.enroll('push-pg', {});
    const stream = listen(`${one.base}/api/v1/machines/push-pg/stream`, token);
    cleanups.push(() => stream.stop());
    await until(() => one.repos.push.connected === 1, 'the stream to connect');
    const { row } = await two.repos.requests.create('push-pg', {
      client_request_id: '1',
      requester: 'ada',
      file_sha256: 'c'.repeat(64),
      file_path: '/x',
      file_name: 'x',
      decision: 'BLOCK_UNKNOWN',
      execution_time: null,
      justification: 'needed for work',
    });
    await two.repos.requests.approve(row.id, { scope: 'machine', actor: 'helpdesk:grace' });
    await until(() => stream.events.includes('request-updated'), 'the push from the other process');
    expect(stream.events).toEqual(expect.arrayContaining(['rules-changed', 'request-updated']));
  });

  it('makes the agent sync by itself when the helpdesk approves', async () => {
    const dir = tempDir('push-agent');
    cleanups.push(() => dir.remove());
    const { repos, base } = await startServer();
    const { agent, scheduler, stop } = await startSyncingAgent(dir.dir, base, {
      MachineID: 'push-agent',
    });
    cleanups.push(stop);

    const who = { pid: 8001, ppid: 1, uid: 1000, gid: 1000 };
    const tool = copyExecutable('/bin/true', join(dir.dir, 'pushed-tool'), `push-${Date.now()}`);
    expect(await agent.monitor.inject(tool, who)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const [event] = agent.events.list({ uid: 1000 });
    const local = agent.requests.create(
      event!.id,
      1000,
      'Please allow this tool, I need it today.',
    );
    await scheduler.syncNow();
    const [queued] = await repos.requests.queue();
    expect(queued?.file_name).toBe('pushed-tool');

    // The approval is never told before the rule that makes it true is in place.
    const ruleWhenApproved: boolean[] = [];
    agent.onMessage((message) => {
      if (message.kind === 'request' && message.request.state === 'approved')
        ruleWhenApproved.push(agent.rules.get('BINARY', sha256sum(tool)) !== undefined);
    });
    const clicked = performance.now();
    await repos.requests.approve(queued!.id, { scope: 'machine', actor: 'helpdesk:grace' });
    await until(
      () => agent.requests.get(local.id)?.state === 'approved',
      'the approval to reach the agent',
    );
    await until(() => agent.rules.counts().BINARY === 1, 'the rule');
    expect(await agent.monitor.inject(tool, who)).toBe(true);
    expect(ruleWhenApproved).toEqual([true]);
    console.log(
      `approve → allowed on the agent, by push: ${(performance.now() - clicked).toFixed(0)} ms`,
    );
  });

  it('spreads the syncs a global rule sets off over the window the push gives', async () => {
    // One stream and one follow-up sync a minute: the push asks for a 60 s spread.
    const push = new PushHub(undefined, { herdSyncsPerS: 1 / 60 });
    const server = await startTestServer('sqlite', { enrollmentSecret: 'team-secret', push });
    cleanups.push(() => server.close());
    let delivered = 0;
    push.observer = { fanout: (_s, reached) => void (delivered += reached), closed: () => {} };
    const dir = tempDir('push-spread');
    cleanups.push(() => dir.remove());
    const late = await startSyncingAgent(dir.dir, server.base, { MachineID: 'late' }, () => 0.99);
    cleanups.push(late.stop);
    const lastSync = async () => (await server.repos.machines.get('late'))?.last_sync_at ?? null;
    await expect.poll(lastSync, { timeout: 15_000 }).not.toBeNull();
    const synced = await lastSync();
    await server.repos.rules.put(binaryRule('e'.repeat(64)));
    await until(() => delivered === 1, 'the push');
    // Told of a global rule, the agent syncs near the end of the minute, not at once.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await lastSync()).toBe(synced);
    expect(late.agent.rules.counts().BINARY).toBe(0);
    late.stop();

    // One that draws the start of the window syncs at once, as does any agent told of a rule
    // for itself alone.
    const other = tempDir('push-spread-soon');
    cleanups.push(() => other.remove());
    const soon = await startSyncingAgent(other.dir, server.base, { MachineID: 'soon' }, () => 0);
    cleanups.push(soon.stop);
    await until(() => soon.agent.rules.counts().BINARY === 1, 'the first sync');
    await server.repos.rules.put(binaryRule('f'.repeat(64)));
    await until(() => soon.agent.rules.counts().BINARY === 2, 'the spread sync at its start');
    await server.repos.rules.put(
      binaryRule('1'.repeat(64), { scope: 'machine', scope_value: 'soon' }),
    );
    await until(() => soon.agent.rules.counts().BINARY === 3, 'the sync for its own rule');
  });

  it('enrolls an agent with the tags in its config, and a rule for its tag reaches it', async () => {
    const dir = tempDir('push-tags');
    cleanups.push(() => dir.remove());
    const { app, repos, base } = await startServer();
    const { agent, stop } = await startSyncingAgent(dir.dir, base, {
      MachineID: 'tagged-agent',
      MachineTags: ['build-servers', 'eu'],
    });
    cleanups.push(stop);
    // The tags the agent claims wait for an admin, who puts them in force.
    expect(JSON.parse((await repos.machines.get('tagged-agent'))!.claimed_tags)).toEqual([
      'build-servers',
      'eu',
    ]);
    await app.enrollment.repo.setTags('tagged-agent', ['build-servers', 'eu'], 'admin');
    const rule = (tag: string, identifier: string) =>
      repos.rules.put({
        identifier,
        rule_type: 'BINARY',
        policy: 'ALLOWLIST',
        scope: 'tag',
        scope_value: tag,
        created_by: 't',
      });
    await rule('laptops', 'e'.repeat(64));
    await rule('build-servers', 'f'.repeat(64));
    await until(() => agent.rules.get('BINARY', 'f'.repeat(64)) !== undefined, 'the tag rule');
    expect(agent.rules.get('BINARY', 'e'.repeat(64))).toBeUndefined();
  });
});
