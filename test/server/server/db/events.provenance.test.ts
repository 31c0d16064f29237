// Provenance in the binaries catalog: what each machine said of a binary's origin is kept per
// machine and shown as claims, with how many machines said each value, so that a machine that
// lies about a known binary shows as a disagreement instead of being taken at its word (or
// being hidden by the first machine's).
import { describe, expect, it } from 'vitest';
import { callConsole, logInThroughApi } from '../../../helpers/console-api';
import {
  CONSOLE_ACCOUNTS,
  createConsoleAccounts,
  fileRequest,
} from '../../../helpers/console-fixtures';
import { useScratchPerTest } from '../../../helpers/scratch';
import { ENGINES, startTestServer } from '../../../helpers/server';

const SHA = 'd'.repeat(64);

describe.each(ENGINES)('binary provenance on %s', (engine) => {
  const { cleanups } = useScratchPerTest('provenance');

  it('says which machines reported a signer and that they disagree', async () => {
    const server = await startTestServer(engine);
    cleanups.push(() => server.close());
    const upload = async (machine: string, cn: string, teamId: string) => {
      const token = await server.repos.machines.enroll(machine, {});
      const event = {
        file_sha256: SHA,
        file_path: '/Applications/Tool.app',
        file_name: 'tool',
        execution_time: 1_700_000_000,
        decision: 'BLOCK_UNKNOWN',
        teamId,
        signing_chain: [{ cn, org: `${cn} Inc`, sha256: 'e'.repeat(64) }],
      };
      const response = await fetch(`${server.base}/santa/eventupload/${machine}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ events: [event] }),
      });
      expect(response.status).toBe(200);
    };
    await upload('honest-1', 'Developer ID Application: Tools', 'TOOLS12345');
    await upload('honest-2', 'Developer ID Application: Tools', 'TOOLS12345');
    await upload('liar', 'Developer ID Application: Apple', 'APPLE12345');
    // Saying it again does not make a machine count twice.
    await upload('liar', 'Developer ID Application: Apple', 'APPLE12345');

    await createConsoleAccounts(server.repos, 'helpdesk');
    const request = await fileRequest(server.repos, 'liar', {
      client_request_id: '1',
      requester: 'mallory',
      file_sha256: SHA,
      file_path: '/Applications/Tool.app',
      file_name: 'tool',
      justification: 'Signed by Apple, see.',
    });
    const session = await logInThroughApi(server.base, CONSOLE_ACCOUNTS.helpdesk);
    const detail = await callConsole(server.base, 'GET', `/console/api/requests/${request.id}`, {
      cookie: session.cookie,
    });
    expect(detail.status).toBe(200);
    expect(detail.body.binary.provenance).toEqual({
      machines: 3,
      signer: [
        {
          value: 'Developer ID Application: Tools (Developer ID Application: Tools Inc)',
          machines: 2,
        },
        {
          value: 'Developer ID Application: Apple (Developer ID Application: Apple Inc)',
          machines: 1,
        },
      ],
      team_id: [
        { value: 'TOOLS12345', machines: 2 },
        { value: 'APPLE12345', machines: 1 },
      ],
      signing_id: [],
      package: [],
      file_size: [],
    });
  });
});
