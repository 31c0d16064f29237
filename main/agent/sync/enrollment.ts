// Enrollment: a Gatehouse server hands out a machine token at /api/v1/enroll (beside the Santa
// base) for the enrollment secret. The token is kept in StateDir, readable by root alone, so that
// the agent enrolls once and a restart reuses it.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, release } from 'node:os';
import { join } from 'node:path';
import { PRODUCT_VERSION } from '../../../common/version';
import type { Agent } from '../agent';
import { SyncError } from './errors';
import { apiUrl } from './url';

/**
 * The machine token: the stored one, else one from enrolling now; undefined when the agent has
 * neither, and syncs without one (as a plain Santa client does).
 */
export async function enrollMachine(
  agent: Agent,
  fetchImpl: typeof fetch = fetch,
): Promise<string | undefined> {
  const config = agent.config;
  const tokenFile = join(config.stateDir, 'sync-token');
  const stored = readToken(tokenFile);
  if (stored) return stored;
  if (!config.syncBaseUrl || !config.enrollmentSecret) return undefined;
  const response = await fetchImpl(apiUrl(config.syncBaseUrl, 'enroll'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      enrollment_secret: config.enrollmentSecret,
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
    throw new SyncError(`enroll: the server answered ${response.status}: ${text.slice(0, 200)}`);
  const token = (JSON.parse(text) as { token?: unknown }).token;
  if (typeof token !== 'string' || !token) throw new SyncError('enroll: the server sent no token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  // writeFileSync's mode applies only to a file it creates.
  chmodSync(tokenFile, 0o600);
  return token;
}

function readToken(tokenFile: string): string | undefined {
  try {
    return readFileSync(tokenFile, 'utf8').trim() || undefined;
  } catch {
    return undefined; // not enrolled yet
  }
}
