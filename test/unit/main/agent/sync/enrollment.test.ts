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
    writeFileSync(join(stateDir, 'enrollment-key'), 'k'.repeat(43) + '\n');
    const server = fakeServer(() => json({ token: 'new' }));
    expect(await enrollMachine(agent, server.fetch)).toBe('kept');
    expect(server.sent).toHaveLength(0);
  });

  it('registers an enrollment key once when it enrolled before it kept one', async () => {
    const { agent, stateDir } = agentWith({
      syncBaseUrl: 'https://sync.test/santa/',
      enrollmentSecret: 's',
    });
    writeFileSync(join(stateDir, 'sync-token'), 'old-token\n');
    const refusing = fakeServer(() => json({ error: 'down' }, 503));
    expect(await enrollMachine(agent, refusing.fetch)).toBe('old-token');
    expect(() => statSync(join(stateDir, 'enrollment-key'))).toThrow(); // kept only once taken
    const server = fakeServer(() => json({ registered: true }));
    expect(await enrollMachine(agent, server.fetch)).toBe('old-token');
    expect(server.sent[0]).toMatchObject({
      url: 'https://sync.test/api/v1/machines/m-1/enrollment-key',
      headers: { authorization: 'Bearer old-token' },
    });
    const key = (server.sent[0]!.body as { enrollment_key: string }).enrollment_key;
    expect(readFileSync(join(stateDir, 'enrollment-key'), 'utf8')).toBe(`${key}\n`);
    await enrollMachine(agent, server.fetch);
    expect(server.sent).toHaveLength(1);
  });

  it('syncs without a token when there is no secret to enroll with', async () => {
    const { agent } = agentWith({ syncBaseUrl: 'https://sync.test/santa' });
    const server = fakeServer(() => json({}));
    expect(await enrollMachine(agent, server.fetch)).toBeUndefined();
    expect(server.sent).toHaveLength(0);
  });

  it('says what the server answered when it refuses, and when it sends no token', async () => {
    const refused = agentWith({ syncBaseUrl: 'https://sync.test/santa', enrollmentSecret: 'bad' });
    const server = fakeServer(() => json({ error: 'wrong enrollment secret' }, 401));
    await expect(enrollMachine(refused.agent, server.fetch)).rejects.toThrow(
      'enroll: the server answered 401: wrong enrollment secret',
    );
    const empty = agentWith({ syncBaseUrl: 'https://sync.test/santa', enrollmentSecret: 's' });
    await expect(enrollMachine(empty.agent, fakeServer(() => json({})).fetch)).rejects.toThrow(
      'enroll: the server sent no token',
    );
  });

  it('sends the same enrollment key every time, made once and kept for root alone', async () => {
    const { agent, stateDir } = agentWith({
      syncBaseUrl: 'https://sync.test/santa',
      enrollmentSecret: 's',
    });
    const server = fakeServer(() => json({ token: 't' }));
    await enrollMachine(agent, server.fetch);
    rmSync(join(stateDir, 'sync-token'));
    await enrollMachine(agent, server.fetch);
    const keys = server.sent.map(
      (sent) => (sent.body as { enrollment_key: string }).enrollment_key,
    );
    expect(keys[0]).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(keys[1]).toBe(keys[0]);
    expect(statSync(join(stateDir, 'enrollment-key')).mode & 0o777).toBe(0o600);
  });

  it('says plainly when re-enrollment waits for an administrator, or was refused by one', async () => {
    const { agent } = agentWith({ syncBaseUrl: 'https://sync.test/santa', enrollmentSecret: 's' });
    const waiting = fakeServer(() =>
      json({ error: 'enroll: enrolled already', state: 'pending', conflict_id: 7 }, 409),
    );
    await expect(enrollMachine(agent, waiting.fetch)).rejects.toThrow(
      /^enroll: machine id m-1 is enrolled already and this installation cannot prove it is the same one; re-enrollment waits for an administrator to approve enrollment conflict 7 in the console, and the agent asks again at each sync/,
    );
    const rejected = fakeServer(() => json({ error: 'enroll: refused', state: 'rejected' }, 403));
    await expect(enrollMachine(agent, rejected.fetch)).rejects.toThrow(
      /^enroll: an administrator refused this machine's claim on machine id m-1; it will not sync until one approves a new claim \(delete .*enrollment-key to make one at the next sync\)/,
    );
  });
});
