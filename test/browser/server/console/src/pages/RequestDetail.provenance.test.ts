// A request's binary in Chromium: its signer is shown as what machines reported, never as a fact,
// and machines that disagree are shown disagreeing, each value with how many said it.
import { describe, expect, it } from 'vitest';
import { screenshotPath } from '../../../../../helpers/chromium';
import { fileRequest } from '../../../../../helpers/console-fixtures';
import { openRequestInConsole, useConsoleInChromium } from '../../../../../helpers/console-page';

const SHA = 'f'.repeat(64);

describe('binary provenance on the request page', () => {
  const ui = useConsoleInChromium('helpdesk');

  it('says how many machines reported the signer, and where they disagree', async () => {
    const report = (machine: string, signer: string, team_id: string) =>
      ui.repos.events.ingest(machine, [
        {
          file_sha256: SHA,
          file_path: '/Applications/Tool.app',
          file_name: 'disputed-tool',
          execution_time: Date.now() / 1000,
          decision: 'BLOCK_UNKNOWN',
          logged_in_users: [],
          current_sessions: [],
          signer,
          team_id,
        },
      ]);
    for (const machine of ['m-1', 'm-2', 'm-liar']) await ui.repos.machines.enroll(machine, {});
    await report('m-1', 'Developer ID Application: Tools Inc', 'TOOLS12345');
    await report('m-2', 'Developer ID Application: Tools Inc', 'TOOLS12345');
    await report('m-liar', 'Apple Inc.', 'APPLE12345');
    await fileRequest(ui.repos, 'm-liar', {
      client_request_id: '1',
      requester: 'mallory',
      file_sha256: SHA,
      file_path: '/Applications/Tool.app',
      file_name: 'disputed-tool',
      justification: 'It is signed by Apple.',
    });

    const page = await ui.browser.context.newPage();
    await openRequestInConsole(page, ui.base, 'disputed-tool');
    await expect
      .poll(() => page.locator('.origin').textContent())
      .toBe('Developer ID Application: Tools Inc (2 machines) or Apple Inc. (1 machine)');
    expect((await page.locator('.provenance').textContent())?.trim()).toBe(
      'reported by 3 machines, not verified; machines disagree on the signer, team ID',
    );
    await page.screenshot({ path: screenshotPath('console-binary-provenance'), fullPage: true });
  });
});
