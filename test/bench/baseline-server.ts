// The baseline of bench:server: Fastify alone, in its own process like the backend, answering
// the Santa routes with an empty JSON object after parsing the body. No authentication, no
// database: the ceiling this machine puts on any backend built on the same HTTP stack.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/santa/:stage/:machine_id', async () => ({}));
const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${address}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
