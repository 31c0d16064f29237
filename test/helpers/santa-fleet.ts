// A backend with stock Santa clients on it, for the scope tests: machines enrolled straight into
// the database, each played by test/helpers/santa-client.ts over real HTTP, and the console's
// "reaches this machine" view read through the console API as an admin sees it.
import { callConsole, type ConsoleSession } from './console-api';
import { logInConsoleAccounts } from './console-fixtures';
import { SantaClient, type HeldRule } from './santa-client';
import { startTestServer, type Engine, type TestServer } from './server';

/** What a machine holds, or should hold, per key: comparable as sorted lines. */
export type RuleLines = string[];

const line = (rule: {
  identifier: string;
  rule_type: string;
  policy: string;
  custom_msg?: string | null;
}) => `${rule.rule_type} ${rule.identifier} ${rule.policy} ${rule.custom_msg ?? ''}`.trimEnd();

export interface SantaFleet {
  readonly server: TestServer;
  /** Console sessions by role. */
  readonly sessions: Record<'admin' | 'helpdesk' | 'viewer', ConsoleSession>;
  /** Enrolls a machine and gives the Santa client that plays it. */
  mac(machineId: string, facts?: { primaryUser?: string; tags?: string[] }): Promise<SantaClient>;
  /** The rules the console says the machine holds: those reaching it that nothing shadows. */
  reaching(machineId: string): Promise<RuleLines>;
  close(): Promise<void>;
}

export function heldLines(client: SantaClient): RuleLines {
  return client.rules
    .filter((rule: HeldRule) => !rule.transitive)
    .map(line)
    .sort();
}

export async function startSantaFleet(engine: Engine, pageSize = 3): Promise<SantaFleet> {
  const server = await startTestServer(engine, { pageSize });
  const sessions = await logInConsoleAccounts(server, 'admin', 'helpdesk', 'viewer');
  return {
    server,
    sessions,
    async mac(machineId, facts = {}) {
      const token = await server.repos.machines.enroll(machineId, {});
      // Tags in force are an admin's to set: straight into the row, as the console would.
      if (facts.tags) await setTags(server, machineId, facts.tags);
      return new SantaClient({
        syncBaseURL: `${server.base}/santa/`,
        machineId,
        headers: { authorization: `Bearer ${token}` },
        compression: 'none',
        // Santa always sends its rules hash (santa-client.ts leaves it out; the server does not
        // reproduce it, but its presence says the counts are proto3's: absent is zero).
        facts: {
          rules_hash: 'simulated',
          ...(facts.primaryUser ? { primary_user: facts.primaryUser } : {}),
        },
      });
    },
    async reaching(machineId) {
      const { status, body } = await callConsole(
        server.base,
        'GET',
        `/console/api/machines/${encodeURIComponent(machineId)}`,
        sessions.admin,
      );
      if (status !== 200) throw new Error(`console: machine ${machineId} answered ${status}`);
      return (
        body.rules as {
          shadowed_by: number | null;
          identifier: string;
          rule_type: string;
          policy: string;
          custom_msg: string | null;
        }[]
      )
        .filter((rule) => rule.shadowed_by === null)
        .map(line)
        .sort();
    },
    close: () => server.close(),
  };
}

/** The Mac reports another primary user from its next preflight on. */
export function changeOwner(client: SantaClient, primaryUser: string): void {
  (client.options.facts as Record<string, unknown>).primary_user = primaryUser;
}

export async function setTags(
  server: TestServer,
  machineId: string,
  tags: string[],
): Promise<void> {
  await server.repos.machines.update(machineId, { tags: JSON.stringify(tags) });
}
