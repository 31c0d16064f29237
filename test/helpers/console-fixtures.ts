// What the console tests start from: its accounts, and approval requests as a machine sends them.
import type { Repositories } from '../../server/app';
import type { NewRequest, RequestRow } from '../../server/db/requests';
import type { MachinesTable } from '../../server/db/schema';
import { logInThroughApi, type ConsoleSession } from './console-api';

export const CONSOLE_ACCOUNTS = {
  admin: { username: 'root', password: 'admin-password-12' },
  helpdesk: { username: 'grace', password: 'helpdesk-password-1' },
  viewer: { username: 'vera', password: 'viewer-password-1' },
} as const;

export type ConsoleRole = keyof typeof CONSOLE_ACCOUNTS;

/** Creates the console accounts for these roles, in this order. */
export async function createConsoleAccounts(
  repos: Repositories,
  ...roles: ConsoleRole[]
): Promise<void> {
  for (const role of roles) {
    const { username, password } = CONSOLE_ACCOUNTS[role];
    await repos.users.create(username, password, role, 'test');
  }
}

/** Creates the console accounts for these roles and logs each in through the API: sessions by role. */
export async function logInConsoleAccounts<Role extends ConsoleRole>(
  server: { readonly repos: Repositories; readonly base: string },
  ...roles: Role[]
): Promise<Record<Role, ConsoleSession>> {
  await createConsoleAccounts(server.repos, ...roles);
  const sessions = {} as Record<Role, ConsoleSession>;
  for (const role of roles)
    sessions[role] = await logInThroughApi(server.base, CONSOLE_ACCOUNTS[role]);
  return sessions;
}

/** A request for approval of a file the machine blocked as unknown. */
export async function fileRequest(
  repos: Repositories,
  machineId: string,
  request: Omit<NewRequest, 'decision' | 'execution_time'>,
  now?: number,
): Promise<RequestRow> {
  const { row } = await repos.requests.create(
    machineId,
    { decision: 'BLOCK_UNKNOWN', execution_time: null, ...request },
    now,
  );
  return row;
}

/** machine, client request id, requester, file (in /opt/bin), its SHA-256, age in hours */
export type AgedRequest = [
  machine: string,
  key: string,
  requester: string,
  file: string,
  sha256: string,
  ageHours: number,
];

/** Files these requests, in this order, each sent its age before `now`; their ids by key. */
export async function fileAgedRequests(
  repos: Repositories,
  requests: AgedRequest[],
  justification: (file: string) => string,
  now = Date.now(),
): Promise<Record<string, number>> {
  const ids: Record<string, number> = {};
  for (const [machine, key, requester, file, sha256, ageHours] of requests) {
    const request = {
      client_request_id: key,
      requester,
      file_sha256: sha256,
      file_path: '/opt/bin',
      file_name: file,
      justification: justification(file),
    };
    ids[key] = (await fileRequest(repos, machine, request, now - ageHours * 3_600_000)).id;
  }
  return ids;
}

/**
 * The two machines the console's pages list: ada's laptop (engineering, LOCKDOWN, synced just now)
 * and bob's desktop (never synced); `ada` and `bob` add to what each has reported.
 */
export async function enrollAdaAndBob(
  repos: Repositories,
  reported: { ada?: Partial<MachinesTable>; bob?: Partial<MachinesTable> } = {},
): Promise<void> {
  await repos.machines.enroll('m-ada', {
    hostname: 'ada-laptop.example',
    primary_user: 'ada',
    agent_version: '0.1.0',
    tags: ['engineering'],
  });
  await repos.machines.update('m-ada', {
    client_mode: 'LOCKDOWN',
    last_sync_at: Date.now(),
    ...reported.ada,
  });
  await repos.machines.enroll('m-bob', { hostname: 'bob-desktop.example', primary_user: 'bob' });
  if (reported.bob) await repos.machines.update('m-bob', reported.bob);
}
