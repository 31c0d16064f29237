// Santa's ruledownload cursor: opaque to the client, here the rule version a page ended at,
// sealed to the sync in progress (the machine, the version its preflight fixed, the version it
// had acknowledged, the kind of sync) with an HMAC keyed by the machine's token hash, which a
// stock client on the fleet credential never holds. A cursor from another machine's pages or
// another sync, or one made up, is refused instead of silently skipping rules.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { SantaRequestError } from '../../../common/santa';
import type { MachinesTable } from '../../db/schema';

type Sync = Pick<
  MachinesTable,
  'machine_id' | 'token_hash' | 'sync_version' | 'acked_version' | 'sync_type'
>;

const CURSOR = /^(\d{1,15})\.([A-Za-z0-9_-]{22})$/;

function seal(sync: Sync, version: number): string {
  const scope = [sync.machine_id, sync.sync_version, sync.acked_version, sync.sync_type, version];
  return createHmac('sha256', sync.token_hash)
    .update(scope.join('\n'))
    .digest('base64url')
    .slice(0, 22);
}

/** The cursor for the page after `version`, in this sync. */
export const sealCursor = (sync: Sync, version: number): string =>
  `${version}.${seal(sync, version)}`;

/** The version a cursor this sync issued stands for; anything else is refused (400). */
export function openCursor(sync: Sync, cursor: string): number {
  const match = CURSOR.exec(cursor);
  const version = Number(match?.[1]);
  const given = Buffer.from(match?.[2] ?? '');
  const expected = Buffer.from(match ? seal(sync, version) : '');
  if (!match || given.length !== expected.length || !timingSafeEqual(given, expected))
    throw new SantaRequestError(
      "ruledownload: cursor was not issued for this machine's sync in progress: send back the cursor of the previous page, or start the sync again from preflight",
    );
  return version;
}
