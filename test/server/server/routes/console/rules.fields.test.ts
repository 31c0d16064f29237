// Every Santa rule field and policy, end to end: made in the console API, checked in one place
// (common/rules.ts parseRuleSpec), stored, and sent to a stock Santa client as it asks.
import { describe, expect, it } from 'vitest';
import { auditEntries } from '../../../../helpers/audit';
import { callConsole } from '../../../../helpers/console-api';
import { startSantaFleet } from '../../../../helpers/santa-fleet';
import { ENGINES } from '../../../../helpers/server';
import { useStarted } from '../../../../helpers/scratch';

const sha = (n: number) => n.toString(16).padStart(64, 'c');
const CEL = "target.signing_time >= timestamp('2025-01-01T00:00:00Z')";

describe.each(ENGINES)('Santa rule fields through the console on %s', (engine) => {
  const fleet = useStarted(() => startSantaFleet(engine, 100));

  const create = (body: Record<string, unknown>) =>
    callConsole(fleet.server.base, 'POST', '/console/api/rules', {
      ...fleet.sessions.admin,
      body: { rule_type: 'BINARY', scope: 'global', ...body },
    });

  it('refuses what Santa would not take, saying which field and what it must be', async () => {
    const refusals: [Record<string, unknown>, string][] = [
      [{ identifier: sha(1), policy: 'CEL' }, 'a CEL rule needs cel_expr'],
      [
        { identifier: sha(1), policy: 'ALLOWLIST', cel_expr: 'true' },
        'cel_expr is for CEL rules only',
      ],
      [
        { identifier: sha(1), policy: 'BLOCKLIST', event_detail_button_label: 'x'.repeat(49) },
        'event_detail_button_label must be text of at most 48 characters',
      ],
      [
        { identifier: sha(1), policy: 'BLOCKLIST', custom_url: 'javascript:alert(1)' },
        'custom_url must be an http:// or https:// address',
      ],
      [{ identifier: sha(1), policy: 'SEATBELT' }, 'policy must be one of'],
      [
        { rule_type: 'TEAMID', identifier: 'EQHXZ8M8AV', policy: 'ALLOWLIST_COMPILER' },
        'ALLOWLIST_COMPILER applies to BINARY, CDHASH, SIGNINGID rules only',
      ],
      [{ identifier: 'nothex', policy: 'ALLOWLIST' }, "a BINARY rule's identifier is"],
    ];
    for (const [body, says] of refusals) {
      const reply = await create(body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.body.error).toContain(says);
    }
    expect(
      await fleet.server.repos.rules.list({ identifier: sha(1) }, { limit: 5, offset: 0 }),
    ).toMatchObject({ total: 0 });
  });

  it('stores every field and policy and sends them in ruledownload', async () => {
    const mac = await fleet.mac(`fields-${engine}`);
    await mac.sync();
    const made = [
      { identifier: sha(10), policy: 'CEL', cel_expr: CEL },
      { identifier: sha(11), policy: 'SILENT_GUI_BLOCKLIST' },
      { identifier: sha(12), policy: 'SILENT_TTY_BLOCKLIST' },
      {
        identifier: sha(13),
        policy: 'BLOCKLIST',
        custom_msg: 'Ask IT',
        custom_url: 'https://it.example/ask',
        event_detail_button_label: 'Ask IT',
      },
      { identifier: sha(14), policy: 'ALLOWLIST', notification_app_name: 'Xcode' },
    ];
    for (const body of made) {
      const reply = await create(body);
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject(body);
    }
    const report = await mac.sync();
    for (const body of made)
      expect(report.received).toContainEqual({ rule_type: 'BINARY', ...body });
    expect(report.notifications).toEqual(['Xcode']);
    expect(mac.rule(sha(13))).toMatchObject({
      event_detail_button_label: 'Ask IT',
      custom_url: 'https://it.example/ask',
    });
    const audit = await auditEntries(fleet.server.db, { action: 'rule.create' });
    expect(audit.map((entry) => entry.details)).toContainEqual(
      expect.objectContaining({ policy: 'CEL', cel_expr: CEL }),
    );
  });
});
