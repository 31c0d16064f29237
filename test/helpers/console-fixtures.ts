// What the console tests start from: its accounts, and approval requests as a machine sends them.
import type { Repositories } from '../../server/app';
import type { NewRequest, RequestRow } from '../../server/db/requests';

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
