// The server side of bench:server: the backend in its own process, on a SQLite folder (argv[2])
// or a postgres:// URL (argv[3]). Prints its address when listening.
import { buildApp } from '../../server/app';
import { openServerDatabase } from '../../server/db/connect';
import { PushHub } from '../../server/push';

const [dataDir, databaseUrl] = process.argv.slice(2) as [string, string | undefined];
const db = await openServerDatabase(dataDir, databaseUrl || undefined);
const push = new PushHub(databaseUrl || undefined);
await push.start();
const { app } = buildApp({ db, enrollmentSecret: 'bench-secret', push });
const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${address}\n`);
process.on(
  'SIGTERM',
  () =>
    void app
      .close()
      .then(() => push.stop())
      .then(() => db.destroy())
      .then(() => process.exit(0)),
);
