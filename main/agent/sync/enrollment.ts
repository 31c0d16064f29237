// Enrollment: a Gatehouse server hands out a machine token at /api/v1/enroll (beside the Santa
// base) for the enrollment secret. The token is kept in StateDir, readable by root alone, so that
// the agent enrolls once and a restart reuses it. Beside it the agent keeps an enrollment key,
// made once and sent with every enrollment: the server lets an id that is enrolled already be
// enrolled again only by the installation holding that key, or by one an administrator approved,
// so the fleet secret alone cannot take this machine's id over.
//
// When the server refuses the token (401: it was replaced, or the machine was removed), the
// scheduler forgets it and the next sync enrolls again: at once where the server allows it, and
// otherwise the agent's sync error says that it waits for an administrator (or was refused).
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, release } from 'node:os';
import { join } from 'node:path';
import { PRODUCT_VERSION } from '../../../common/version';
import type { Agent } from '../agent';
import { SyncError } from './errors';
import { apiUrl } from './url';

const tokenFile = (agent: Agent) => join(agent.config.stateDir, 'sync-token');
const keyFileOf = (agent: Agent) => join(agent.config.stateDir, 'enrollment-key');

/**
 * The machine token: the stored one, else one from enrolling now; undefined when the agent has
 * neither, and syncs without one (as a plain Santa client does).
 */
export async function enrollMachine(
  agent: Agent,
  fetchImpl: typeof fetch = fetch,
): Promise<string | undefined> {
  const config = agent.config;
  const stored = readSecret(tokenFile(agent));
  if (stored) {
    if (config.syncBaseUrl && !readSecret(keyFileOf(agent)))
      await registerKey(agent, stored, fetchImpl).catch(() => undefined); // tried at next start
    return stored;
  }
  if (!config.syncBaseUrl || !config.enrollmentSecret) return undefined;
  const response = await fetchImpl(apiUrl(config.syncBaseUrl, 'enroll'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      enrollment_secret: config.enrollmentSecret,
      enrollment_key: enrollmentKey(agent),
      machine_id: config.machineId,
      hostname: hostname(),
      os_version: release(),
      agent_version: PRODUCT_VERSION,
      ...(config.machineOwner ? { primary_user: config.machineOwner } : {}),
      ...(config.machineTags.length > 0 ? { tags: config.machineTags } : {}),
    }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (response.status !== 200)
    throw new SyncError(refusal(response, text, config.machineId, keyFileOf(agent)));
  const token = (JSON.parse(text) as { token?: unknown }).token;
  if (typeof token !== 'string' || !token) throw new SyncError('enroll: the server sent no token');
  writeSecret(tokenFile(agent), token);
  return token;
}

/**
 * An agent enrolled before it kept an enrollment key registers one with its token, so that a
 * later re-enrollment can prove it is this installation; kept only once the server took it.
 */
async function registerKey(agent: Agent, token: string, fetchImpl: typeof fetch): Promise<void> {
  const key = randomBytes(32).toString('base64url');
  const path = `machines/${encodeURIComponent(agent.config.machineId)}/enrollment-key`;
  const response = await fetchImpl(apiUrl(agent.config.syncBaseUrl!, path), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ enrollment_key: key }),
    signal: AbortSignal.timeout(30_000),
  });
  await response.text();
  if (response.status === 200) writeSecret(keyFileOf(agent), key);
}

/** The server refused the stored token: forget it, so that the next sync enrolls again. */
export function forgetToken(agent: Agent): void {
  rmSync(tokenFile(agent), { force: true });
}

/** A sync the server refused for its machine token (as opposed to an outage or a bad answer). */
export function tokenRefused(error: unknown): boolean {
  return error instanceof SyncError && /: the server answered 401\b/.test(error.message);
}

/** What an enrollment refusal means for this machine, in the words its status shows. */
function refusal(response: Response, text: string, machineId: string, keyFile: string): string {
  let answer: { error?: unknown; conflict_id?: unknown } = {};
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    // shown as the raw text below
  }
  const said = typeof answer.error === 'string' ? answer.error : text.slice(0, 200);
  if (response.status === 409)
    return `enroll: machine id ${machineId} is enrolled already and this installation cannot prove it is the same one; re-enrollment waits for an administrator to approve enrollment conflict ${String(answer.conflict_id)} in the console, and the agent asks again at each sync (${said})`;
  if (response.status === 403)
    return `enroll: an administrator refused this machine's claim on machine id ${machineId}; it will not sync until one approves a new claim (delete ${keyFile} to make one at the next sync) (${said})`;
  if (response.status === 429)
    return `enroll: the server is limiting enrollments; the agent tries again in ${response.headers.get('retry-after') ?? 'a few'} s`;
  return `enroll: the server answered ${response.status}: ${said}`;
}

/** The key that proves a later enrollment comes from this installation, made on first use. */
function enrollmentKey(agent: Agent): string {
  const file = keyFileOf(agent);
  const existing = readSecret(file);
  if (existing) return existing;
  const key = randomBytes(32).toString('base64url');
  writeSecret(file, key);
  return key;
}

function writeSecret(file: string, value: string): void {
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  // writeFileSync's mode applies only to a file it creates.
  chmodSync(file, 0o600);
}

function readSecret(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined; // not made yet
  }
}
