// The wire facts of Santa's sync v1 that a binary client depends on (field numbers, JSON names,
// enum numbers, as northpolesec/protos sync/v1.proto has them), checked byte for byte, and the
// two conversions the server makes with them.
import { describe, expect, it } from 'vitest';
import {
  decodeSantaRequest,
  encodeSantaResponse,
  santaMessage,
  syncV1,
} from '../../../../server/santa/sync-v1';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('santa.sync.v1', () => {
  it.each([
    ['PreflightRequest', 'serial_number', 1, 'serial_num'],
    ['PreflightRequest', 'client_mode', 9, 'client_mode'],
    ['PreflightRequest', 'machine_id', 18, 'machine_id'],
    ['PreflightRequest', 'sip_status', 20, 'sipStatus'],
    ['PreflightRequest', 'primary_user_groups', 21, 'primary_user_groups'],
    ['PreflightRequest', 'rules_hash', 22, 'rulesHash'],
    ['PreflightResponse', 'full_sync_interval_seconds', 8, 'full_sync_interval'],
    ['PreflightResponse', 'event_detail_url', 26, 'eventDetailUrl'],
    ['PreflightResponse', 'push_issuer_token', 33, 'pushIssuerToken'],
    ['PreflightResponse', 'removable_media_policy', 36, 'removableMediaPolicy'],
    ['PreflightResponse', 'deprecated_clean_sync', 1007, 'clean_sync'],
    ['Event', 'signing_chain', 28, 'signing_chain'],
    ['Event', 'entitlement_info', 29, 'entitlementInfo'],
    ['Event', 'static_rule', 34, 'static_rule'],
    ['EventUploadRequest', 'file_access_events', 4, 'file_access_events'],
    ['Rule', 'notification_app_name', 8, 'notificationAppName'],
    ['Rule', 'cel_expr', 9, 'celExpr'],
    ['Rule', 'event_detail_button_label', 12, 'eventDetailButtonLabel'],
    ['Rule', 'deprecated_sha256', 1000, 'sha256'],
    ['PostflightRequest', 'sync_type', 4, 'syncType'],
    ['PostflightRequest', 'rules_hash', 5, 'rulesHash'],
  ])('%s.%s is field %i, named %s in JSON', (message, field, id, jsonName) => {
    const reflected = syncV1.lookupType(`santa.sync.v1.${message}`).fields[field];
    expect({ id: reflected?.id, jsonName: reflected?.jsonName }).toEqual({ id, jsonName });
  });

  it.each([
    [
      'Policy',
      { ALLOWLIST: 1, REMOVE: 5, CEL: 6, SILENT_GUI_BLOCKLIST: 8, SILENT_TTY_BLOCKLIST: 9 },
    ],
    ['SyncType', { NORMAL: 1, CLEAN: 2, CLEAN_ALL: 3, CLEAN_STANDALONE: 4 }],
    ['Decision', { BLOCK_UNKNOWN: 8, BUNDLE_BINARY: 15, ALLOW_PLATFORM: 19 }],
    ['ClientMode', { MONITOR: 1, LOCKDOWN: 2, STANDALONE: 3 }],
    ['RuleType', { BINARY: 1, CERTIFICATE: 2, TEAMID: 3, SIGNINGID: 4, CDHASH: 5 }],
  ])('enum %s numbers its values as Santa does', (name, values) => {
    expect(syncV1.lookupEnum(`santa.sync.v1.${name}`).values).toMatchObject(values);
  });

  it('decodes a binary preflight into the keys and values a JSON client sends', () => {
    // serial_number "S" (1), client_mode LOCKDOWN (9), sip_status 111 (20), rules_hash "h" (22)
    const bytes = Buffer.from('0a01534802a0016fb2010168', 'hex');
    expect(decodeSantaRequest('preflight', bytes)).toEqual({
      serial_num: 'S',
      client_mode: 'LOCKDOWN',
      sip_status: 111,
      rules_hash: 'h',
    });
  });

  it("encodes a route's JSON answer by JSON or proto names, ignoring what the proto lacks", () => {
    const bytes = encodeSantaResponse('preflight', {
      client_mode: 'LOCKDOWN',
      sync_type: 'CLEAN',
      full_sync_interval: 600,
      event_detail_url: 'u',
      clean_sync: true,
      gatehouse_extension: 1,
    });
    // 08 02 | 10 02 | 40 d8 04 | d2 01 01 75 | f8 3e 01
    expect(hex(bytes)).toBe('0802100240d804d2010175f83e01');
    const rule = santaMessage('ruledownload', 'Response');
    expect(
      rule
        .decode(
          encodeSantaResponse('ruledownload', {
            rules: [{ identifier: 'x', policy: 'CEL', rule_type: 'SIGNINGID', cel_expr: 'true' }],
            cursor: '7',
          }),
        )
        .toJSON(),
    ).toEqual({
      rules: [{ identifier: 'x', policy: 'CEL', rule_type: 'SIGNINGID', cel_expr: 'true' }],
      cursor: '7',
    });
  });
});
