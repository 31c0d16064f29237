import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../../../../main/agent/agent';
import { enrollMachine } from '../../../../../main/agent/sync/enrollment';
import { fakeServer, json } from './fake-server';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function agentWith(config: { syncBaseUrl?: string; enrollmentSecret?: string }): {
  agent: Agent;
  stateDir: string;
} {
  const stateDir = mkdtempSync(join(tmpdir(), 'enroll-'));
  dirs.push(stateDir);
  const agent = {
    config: { stateDir, machineId: 'm-1', machineOwner: 'ada', machineTags: ['lab'], ...config },
  };
  return { agent: agent as unknown as Agent, stateDir };
}

describe('enrollment', () => {
  it('trades the secret for a token beside the Santa base, and keeps it for root alone', async () => {
    const { agent, stateDir } = agentWith({
      syncBaseUrl: 'https://sync.test/santa',
      enrollmentSecret: 's3cret',
    });
    const server = fakeServer(() => json({ token: 'tok-1' }));
    expect(await enrollMachine(agent, server.fetch)).toBe('tok-1');
    expect(server.sent[0]).toMatchObject({
      url: 'https://sync.test/api/v1/enroll',
      body: { enrollment_secret: 's3cret', machine_id: 'm-1', primary_user: 'ada', tags: ['lab'] },
    });
    const tokenFile = join(stateDir, 'sync-token');
    expect(readFileSync(tokenFile, 'utf8')).toBe('tok-1\n');
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
  });

  it('reuses a stored token without asking the server', async () => {
    const { agent, stateDir } = agentWith({
      syncBaseUrl: 'https://sync.test/santa/',
      enrollmentSecret: 's',
    });
    writeFileSync(join(stateDir, 'sync-token'), 'kept\n');
    const server = fakeServer(() => json({ token: 'new' }));
    expect(await enrollMachine(agent, server.fetch)).toBe('kept');
    expect(server.sent).toHaveLength(0);
  });

  it('syncs without a token when there is no secret to enroll with', async () => {
    const { agent } = agentWith({ syncBaseUrl: 'https://sync.test/santa' });
    const server = fakeServer(() => json({}));
    expect(await enrollMachine(agent, server.fetch)).toBeUndefined();
    expect(server.sent).toHaveLength(0);
  });

  it('says what the server answered when it refuses, and when it sends no token', async () => {
    const refused = agentWith({ syncBaseUrl: 'https://sync.test/santa', enrollmentSecret: 'bad' });
    const server = fakeServer(() => json({ error: 'wrong enrollment secret' }, 403));
    await expect(enrollMachine(refused.agent, server.fetch)).rejects.toThrow(
      'enroll: the server answered 403: {"error":"wrong enrollment secret"}',
    );
    const empty = agentWith({ syncBaseUrl: 'https://sync.test/santa', enrollmentSecret: 's' });
    await expect(enrollMachine(empty.agent, fakeServer(() => json({})).fetch)).rejects.toThrow(
      'enroll: the server sent no token',
    );
  });
});
