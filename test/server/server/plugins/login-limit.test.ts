// The console login limit against a hostile caller over real HTTP: a hundred parallel guesses
// get five answers, the rest a 429 with Retry-After, on one process or spread over two on one
// PostgreSQL; huge usernames are refused before anything is counted or hashed; one address
// guessing many accounts holds a bounded number of rows; every refusal is counted in /metrics.
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../../../server/app';
import { openServerDatabase, type Db } from '../../../../server/db/connect';
import { startPostgres } from '../../../helpers/postgres';
import { useScratchPerTest } from '../../../helpers/scratch';
import { ENGINES, startTestServer } from '../../../helpers/server';

const { cleanups } = useScratchPerTest('logins');

async function login(base: string, username: string, password: string) {
  const response = await fetch(`${base}/console/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const body = (await response.json().catch(() => ({}))) as { error?: string };
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body };
}

const rows = async (db: Db) =>
  Number(
    (
      await db
        .selectFrom('limit_counts')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

describe.each(ENGINES)('console login limit on %s', (engine) => {
  it('answers five of 100 parallel wrong passwords and refuses the rest with Retry-After', async () => {
    const server = await startTestServer(engine);
    cleanups.push(() => server.close());
    await server.repos.users.create('target', 'target-password-1', 'admin', 'test');
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) => login(server.base, 'target', `guess-${i}`)),
    );
    expect(answers.filter((a) => a.status === 401)).toHaveLength(5);
    const refused = answers.filter((a) => a.status === 429);
    expect(refused).toHaveLength(95);
    for (const answer of refused) {
      expect(Number(answer.retryAfter)).toBeGreaterThan(0);
      expect(answer.body.error).toMatch(/^too many failed logins; try again in \d+ minutes$/);
    }
    const metrics = await (await fetch(`${server.base}/metrics`)).text();
    expect(metrics).toMatch(/^gatehouse_limit_hits_total\{limit="login_(pair|address)"\} \d+$/m);
  });

  it('refuses huge usernames and passwords before counting or hashing them', async () => {
    const server = await startTestServer(engine);
    cleanups.push(() => server.close());
    const huge = 'u'.repeat(1024 * 1024);
    const answers = await Promise.all(
      Array.from({ length: 60 }, () => login(server.base, huge, 'x')),
    );
    expect(new Set(answers.map((a) => a.status))).toEqual(new Set([413]));
    const long = await login(server.base, 'u'.repeat(129), 'x');
    expect(long).toMatchObject({
      status: 400,
      body: { error: 'body.username must NOT have more than 128 characters' },
    });
    expect((await login(server.base, 'someone', 'p'.repeat(1025))).status).toBe(400);
    expect(await rows(server.db)).toBe(0);
  });

  it('keeps a bounded number of counts for one address guessing many accounts', async () => {
    const server = await startTestServer(engine);
    cleanups.push(() => server.close());
    for (let round = 0; round < 5; round++)
      await Promise.all(
        Array.from({ length: 40 }, (_, i) => login(server.base, `account-${round}-${i}`, 'no')),
      );
    // 20 guesses counted, each with its pair and account: 41 rows, not 401.
    expect(await rows(server.db)).toBe(41);
  });
});

describe('console login limit across server processes', () => {
  it('shares the counts between two processes on one PostgreSQL', async () => {
    const postgres = await startPostgres();
    cleanups.push(() => postgres.stop());
    const url = await postgres.database('logins');
    const bases: string[] = [];
    for (let i = 0; i < 2; i++) {
      const db = await openServerDatabase('', url);
      const { app, repos } = buildApp({ db, enrollmentSecret: 's' });
      if (i === 0) await repos.users.create('shared', 'shared-password-1', 'admin', 'test');
      bases.push(await app.listen({ host: '127.0.0.1', port: 0 }));
      cleanups.push(async () => {
        await app.close();
        await db.destroy();
      });
    }
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => login(bases[i % 2]!, 'shared', `guess-${i}`)),
    );
    expect(answers.filter((a) => a.status === 401)).toHaveLength(5);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(35);
  });
});
