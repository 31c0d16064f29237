// bench:fleet's probe, in a worker thread of its own so that the load the benchmark generates on
// its main thread does not delay the probe's own requests: every 100 ms a console call and a
// sync, each timed, until told to stop; then it posts the latencies back.
import { parentPort, workerData } from 'node:worker_threads';

const { consoleBase, cookie, machines } = workerData;
let running = true;
parentPort.on('message', () => (running = false));

async function post(base, path, token, body) {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return response.json();
}

async function sync({ base, id, token }) {
  await post(base, `/santa/preflight/${id}`, token, { client_mode: 'LOCKDOWN', machine_id: id });
  const page = await post(base, `/santa/ruledownload/${id}`, token, {});
  const received = page.rules?.length ?? 0;
  await post(base, `/santa/postflight/${id}`, token, { rules_received: received });
}

const consoleMs = [];
const syncMs = [];
let turn = 0;
while (running) {
  let started = performance.now();
  await fetch(`${consoleBase}/console/api/me`, { headers: { cookie } }).then((r) => r.text());
  consoleMs.push(performance.now() - started);
  started = performance.now();
  await sync(machines[turn++ % machines.length]);
  syncMs.push(performance.now() - started);
  await new Promise((resolve) => setTimeout(resolve, 100));
}
parentPort.postMessage({ consoleMs, syncMs });
