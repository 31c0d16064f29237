// Gatehouse as `npm start` runs it, for tests and benchmarks that need the real thing: the backend
// and the agent service in their own processes, the real fanotify monitor in LOCKDOWN confined to
// a private tmpfs (so nothing else on the machine is ever held), and a subscribed control-socket
// client standing in for the menu-bar app. Root only.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ControlClient } from '../../main/agent/control/client';
import type { StoredEvent } from '../../main/agent/store/events';
import type { StoredRequest } from '../../main/agent/store/requests';
import { startLocalStack, type LocalStack } from '../../scripts/local-stack';
import { openRequestInConsole } from './console-page';
import { copyExecutable, mountTmpfs, tempDir } from './files';
import { until } from './wait';

/** Execs a program without blocking the event loop; the errno code when the exec is refused. */
export function execute(path: string): Promise<{ code: number | null; error?: string }> {
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn(path, [], { stdio: 'ignore' });
    } catch (error) {
      // Some exec failures (EPERM among them) are thrown rather than emitted.
      const { code, message } = error as NodeJS.ErrnoException;
      resolve({ code: null, error: code ?? message });
      return;
    }
    child.once('error', (error: NodeJS.ErrnoException) =>
      resolve({ code: null, error: error.code ?? error.message }),
    );
    child.once('exit', (code) => resolve({ code }));
  });
}

export interface RealStack {
  readonly stack: LocalStack;
  readonly base: string;
  readonly enforced: string;
  readonly client: ControlClient;
  readonly events: StoredEvent[];
  readonly requests: StoredRequest[];
  readonly log: string[];
  /** A fresh binary on the enforced filesystem, unknown to every rule. */
  freshBinary(name: string): string;
  stop(): Promise<void>;
}

export async function startRealStack(prefix: string): Promise<RealStack> {
  const enforced = mountTmpfs(`${prefix}-enforced`);
  const data = tempDir(`${prefix}-data`);
  const log: string[] = [];
  let stack: LocalStack | undefined;
  let client: ControlClient | undefined;
  const stop = async () => {
    client?.close();
    await stack?.stop();
    enforced.unmount();
    data.remove();
  };
  try {
    stack = await startLocalStack({
      dataDir: data.dir,
      port: 0,
      socketPath: join(data.dir, 'gatehouse.sock'),
      mode: 'LOCKDOWN',
      watchPaths: [enforced.dir],
      agent: true,
      log: (line) => log.push(line),
    });
    client = await ControlClient.connect(stack.socketPath!);
    const events: StoredEvent[] = [];
    const requests: StoredRequest[] = [];
    client.onNotification((method, params) => {
      if (method === 'event') events.push(params as StoredEvent);
      if (method === 'request') requests.push(params as StoredRequest);
    });
    await client.call('subscribe');
    let serial = 0;
    return {
      stack,
      base: stack.consoleUrl.replace(/\/console$/, ''),
      enforced: enforced.dir,
      client,
      events,
      requests,
      log,
      freshBinary: (name) =>
        copyExecutable('/bin/true', join(enforced.dir, name), `${name}-${Date.now()}-${serial++}`),
      stop,
    };
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n${log.join('\n')}`, { cause: error });
  }
}

/** Waits for the block of this binary to reach the subscribed client, and asks for approval. */
export async function requestApproval(
  real: RealStack,
  path: string,
  justification: string,
): Promise<StoredRequest> {
  const name = path.slice(path.lastIndexOf('/') + 1);
  await until(
    () => real.events.some((event) => event.fileName === name),
    `the block of ${name} to reach the subscribed client`,
  );
  const event = real.events.find((candidate) => candidate.fileName === name)!;
  return real.client.call<StoredRequest>('requests.create', {
    eventId: event.id,
    justification,
  });
}

/** The request as the agent now knows it. */
export async function agentRequest(real: RealStack, id: number): Promise<StoredRequest> {
  const list = await real.client.call<StoredRequest[]>('requests.list');
  const request = list.find((candidate) => candidate.id === id);
  if (!request) throw new Error(`request #${id} is not in the agent's list`);
  return request;
}

/** Polls until the request has this state on the agent. */
export async function untilAgentRequest(
  real: RealStack,
  id: number,
  state: StoredRequest['state'],
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const request = await agentRequest(real, id);
    if (request.state === state) return;
    if (Date.now() > deadline)
      throw new Error(`request #${id} is ${request.state} on the agent, not ${state}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * The helpdesk approves in the console (a click in Chromium); returns the milliseconds from the
 * click until the binary runs.
 */
export async function approveInConsole(
  real: RealStack,
  browser: { context: BrowserContext } | Browser,
  path: string,
  page?: Page,
): Promise<number> {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const context = 'context' in browser ? browser.context : browser.contexts()[0]!;
  await context.clearCookies(); // a fresh login each time
  const tab = page ?? (await context.newPage());
  await openRequestInConsole(tab, real.base, name, 'admin', real.stack.adminPassword!);
  await tab.getByRole('button', { name: 'Approve' }).click();
  const clicked = performance.now();
  for (;;) {
    const result = await execute(path);
    if (result.code === 0) return performance.now() - clicked;
    if (performance.now() - clicked > 30_000)
      throw new Error(`${name} still does not run 30 s after the approval (${result.error})`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
