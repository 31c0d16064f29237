// Santa's sync protocol under /santa/: preflight, eventupload, ruledownload, postflight. Every
// request carries the machine's token (Authorization: Bearer; real Santa clients send it with
// SyncExtraHeaders), and a machine can only speak for itself.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { TSchema } from 'typebox';
import type { FastifyInstance } from 'fastify';
import {
  clientModeName,
  normalizeKeys,
  optionalBoolean,
  optionalCount,
  optionalString,
  SantaRequestError,
} from '../../../common/santa';
import {
  countsThatDisagree,
  noRuleCounts,
  RULE_DETAIL_FIELDS,
  type RuleDetailField,
} from '../../../common/rules';
import type { IncomingEvent } from '../../db/events';
import { RequestError } from '../../db/requests';
import type { Reach, RuleRow } from '../../db/rules';
import type { MachinesTable } from '../../db/schema';
import { machineOf } from '../../plugins/machine-auth';
import { openCursor, sealCursor } from './cursor';
import { fileAccessEventsOf } from './file-access';
import type { Repositories } from '../../plugins/repositories';
import {
  EventUpload,
  MachineParams,
  Postflight,
  Preflight,
  Refusals,
  RuleDownload,
} from '../../schemas/machine';

const RULE_COUNT_KEYS = [
  'binary',
  'certificate',
  'compiler',
  'transitive',
  'teamid',
  'signingid',
  'cdhash',
] as const;

export interface SantaOptions {
  readonly pageSize: number;
  readonly batchSize: number;
  readonly fullSyncIntervalS: number;
  readonly eventDetailUrl?: string;
}

/** The leaf certificate of Santa's signing_chain, as "common name (organisation)". */
function signerOf(chain: unknown, at: string): string | undefined {
  if (chain === undefined || chain === null) return undefined;
  if (!Array.isArray(chain))
    throw new SantaRequestError(`${at}: signing_chain must be a list of certificates`);
  const leaf = chain[0] as unknown;
  if (leaf === undefined) return undefined;
  if (typeof leaf !== 'object' || leaf === null)
    throw new SantaRequestError(`${at}: signing_chain[0] must be a certificate object`);
  const certificate = normalizeKeys(leaf, `${at}: signing_chain[0]`);
  const name = optionalString(certificate, 'cn', `${at}: signing_chain[0]`, 512);
  const org = optionalString(certificate, 'org', `${at}: signing_chain[0]`, 512);
  if (!name && !org) return undefined;
  return name && org ? `${name} (${org})` : (name ?? org);
}

async function preflight(
  repos: Repositories,
  options: SantaOptions,
  body: Record<string, unknown>,
  machine: MachinesTable,
): Promise<Preflight> {
  const machineId = machine.machine_id;
  const where = 'preflight';
  const counts: Record<string, number> = {};
  for (const kind of RULE_COUNT_KEYS) {
    const count = optionalCount(body, `${kind}_rule_count`, where);
    if (count !== undefined) counts[kind] = count;
  }
  const clientMode = clientModeName(body.client_mode, where);
  const requestClean = optionalBoolean(body, 'request_clean_sync', where) ?? false;
  const primaryUser = optionalString(body, 'primary_user', where) ?? machine.primary_user;
  const versions = await repos.rules.syncVersions();
  const version = versions.rules;
  const clean =
    requestClean ||
    machine.clean_requested === 1 ||
    (await owesCleanSync(
      repos,
      { ...machine, primary_user: primaryUser },
      reportedCounts(counts, optionalString(body, 'rules_hash', where) !== undefined),
      version,
    ));
  // Santa's CLEAN_ALL, ordered from the console: the machine's own (transitive) rules go too.
  const syncType = machine.clean_all_requested === 1 ? 'CLEAN_ALL' : clean ? 'CLEAN' : 'NORMAL';
  await repos.machines.update(machineId, {
    serial_num: optionalString(body, 'serial_num', where) ?? machine.serial_num,
    hostname: optionalString(body, 'hostname', where) ?? machine.hostname,
    os_version: optionalString(body, 'os_version', where) ?? machine.os_version,
    os_build: optionalString(body, 'os_build', where) ?? machine.os_build,
    model_identifier: optionalString(body, 'model_identifier', where) ?? machine.model_identifier,
    agent_version: optionalString(body, 'santa_version', where) ?? machine.agent_version,
    primary_user: primaryUser,
    client_mode: clientMode ?? machine.client_mode,
    rule_counts: JSON.stringify(counts),
    rules_hash: optionalString(body, 'rules_hash', where) ?? null,
    last_preflight_at: Date.now(),
    sync_type: syncType,
    sync_version: version,
    clean_requested: syncType === 'NORMAL' ? 0 : 1,
  });
  return {
    sync_type: syncType,
    // Deprecated, for clients that predate sync_type (newer ones ignore it when sync_type is set).
    ...(syncType !== 'NORMAL' ? { clean_sync: true } : {}),
    // client_mode and the other settings: machine, tag and global profiles over the defaults.
    ...(await repos.settings.preflightFor(machine, options, versions.settings)),
  };
}

/** What rules reach a machine depends on these; JSON, tags in order. */
function membershipOf(machine: Pick<MachinesTable, 'primary_user' | 'tags'>): string {
  const tags = (JSON.parse(machine.tags) as string[]).slice().sort();
  return JSON.stringify({ primary_user: machine.primary_user, tags });
}

function reachOf(machine: MachinesTable): Reach {
  return {
    machineId: machine.machine_id,
    primaryUser: machine.primary_user,
    tags: JSON.parse(machine.tags) as string[],
  };
}

/**
 * The counts to compare with what a machine should hold. Proto3 JSON leaves zeros out, so a client
 * that never sends a zero (Santa) holds none of a kind it leaves out, once it reports anything (a
 * count or its rules hash); one that sends zeros (the Gatehouse agent) states each count it keeps,
 * and only those are compared.
 */
function reportedCounts(counts: Record<string, number>, hashed: boolean): Record<string, number> {
  const stated = Object.values(counts).some((count) => count === 0);
  if (stated || (!hashed && Object.keys(counts).length === 0)) return counts;
  return { ...noRuleCounts(), ...counts };
}

/** The membership a machine's last completed sync was for, when it differs from today's. */
function previousReach(machine: MachinesTable): Reach | undefined {
  if (machine.synced_membership === null || machine.synced_membership === membershipOf(machine))
    return undefined;
  const before = JSON.parse(machine.synced_membership) as {
    primary_user: string | null;
    tags: string[];
  };
  return { machineId: machine.machine_id, primaryUser: before.primary_user, tags: before.tags };
}

/**
 * Whether a machine needs a clean sync it did not ask for: with no rule changed since its last
 * sync and no change of its primary user or tags (ruledownload sends those transitions), the
 * counts it reports differ from what it should hold. Answered once per rule version, audited:
 * counts that a clean sync at this version did not mend (a rule the client refused, such as an
 * invalid CEL expression) would not be mended by another. A membership change is audited here.
 */
async function owesCleanSync(
  repos: Repositories,
  machine: MachinesTable,
  counts: Record<string, number>,
  version: number,
): Promise<boolean> {
  const actor = `machine:${machine.machine_id}`;
  if (previousReach(machine)) {
    await repos.machines.auditSync(machine.machine_id, actor, 'machine.membership-change', {
      before: JSON.parse(machine.synced_membership!),
      after: JSON.parse(membershipOf(machine)),
    });
    return false;
  }
  const acked = Number(machine.acked_version);
  if (Object.keys(counts).length === 0 || acked < version) return false;
  if (machine.clean_version !== null && Number(machine.clean_version) === acked) return false;
  const expected = await repos.rules.expectedCounts(reachOf(machine), acked);
  const wrong = countsThatDisagree(counts, expected);
  if (wrong.length === 0) return false;
  await repos.machines.orderCleanSync(machine.machine_id, {
    actor,
    reason: 'rule-count-drift',
    details: Object.fromEntries(
      wrong.map((kind) => [kind, { reported: counts[kind], expected: expected[kind] }]),
    ),
  });
  return true;
}

function parseEvent(item: unknown, index: number): IncomingEvent {
  const where = 'eventupload';
  const event = normalizeKeys(item, `${where}: events[${index}]`);
  const at = `${where}: events[${index}]`;
  const sha = optionalString(event, 'file_sha256', at, 64);
  if (!sha || !/^[0-9a-fA-F]{64}$/.test(sha))
    throw new SantaRequestError(`${at}: file_sha256 must be a SHA-256 (64 hex digits)`);
  const decision = optionalString(event, 'decision', at, 64);
  if (!decision) throw new SantaRequestError(`${at}: decision is required`);
  const time = event.execution_time;
  if (time !== undefined && (typeof time !== 'number' || !Number.isFinite(time))) {
    throw new SantaRequestError(`${at}: execution_time must be a number of seconds`);
  }
  const list = (key: string) => {
    const value = event[key];
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value) || value.some((entry) => typeof entry !== 'string'))
      throw new SantaRequestError(`${at}: ${key} must be a list of strings`);
    return value as string[];
  };
  const int = (key: string) => {
    const value = event[key];
    if (value === undefined || value === null) return undefined;
    // Safe and not negative: pid, ppid and sizes, stored in a bigint on PostgreSQL.
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
      throw new SantaRequestError(`${at}: ${key} must be a whole number, 0 or more`);
    return value;
  };
  return {
    file_sha256: sha.toLowerCase(),
    file_path: optionalString(event, 'file_path', at, 4096) ?? '',
    file_name: optionalString(event, 'file_name', at, 1024) ?? '',
    executing_user: optionalString(event, 'executing_user', at, 256),
    execution_time: (time as number | undefined) ?? Date.now() / 1000,
    decision: decision.toUpperCase(),
    pid: int('pid'),
    ppid: int('ppid'),
    parent_name: optionalString(event, 'parent_name', at, 1024),
    logged_in_users: list('logged_in_users'),
    current_sessions: list('current_sessions'),
    // Where the binary comes from, for the catalog: Santa's signing fields, and the Linux
    // package and size Gatehouse agents add.
    signer: signerOf(event.signing_chain, at),
    team_id: optionalString(event, 'team_id', at, 64),
    signing_id: optionalString(event, 'signing_id', at, 512),
    package: optionalString(event, 'package', at, 256),
    file_size: int('file_size'),
  };
}

async function ruledownload(
  repos: Repositories,
  options: SantaOptions,
  body: Record<string, unknown>,
  machine: MachinesTable,
): Promise<RuleDownload> {
  if (machine.sync_version === null)
    throw new RequestError(409, 'ruledownload: run preflight first');
  const cursor = optionalString(body, 'cursor', 'ruledownload', 64);
  const after = cursor ? openCursor(machine, cursor) : 0;
  const clean = isCleanSync(machine);
  const previous = clean ? undefined : previousReach(machine);
  // Nothing has changed since this machine's last sync: no query needed.
  if (!clean && !previous && Number(machine.acked_version) >= Number(machine.sync_version))
    return { rules: [] };
  const page = await repos.rules.syncPage(reachOf(machine), {
    since: clean ? 0 : Number(machine.acked_version),
    upTo: Number(machine.sync_version),
    after,
    limit: options.pageSize,
    clean,
    ...(previous ? { previous } : {}),
  });
  // Santa applies a clean sync only when it downloads at least one rule (SNTSyncRuleDownload),
  // so a clean sync with nothing to hold sends one REMOVE, of a key no rule has: the client then
  // drops its synced rules and removes nothing more.
  const nothingToHold = clean && !cursor && page.rows.length === 0 && page.next === undefined;
  return {
    rules: nothingToHold ? [EMPTY_CLEAN_SYNC] : page.rows.map(santaRule),
    // A cursor is a JSON string (strict proto parsing in current Santa clients).
    ...(page.next !== undefined ? { cursor: sealCursor(machine, page.next) } : {}),
  };
}

/** Whether the sync in progress sends the whole rule set (CLEAN, or CLEAN_ALL). */
const isCleanSync = (machine: MachinesTable) =>
  machine.sync_type === 'CLEAN' || machine.sync_type === 'CLEAN_ALL';

const EMPTY_CLEAN_SYNC = { identifier: '0'.repeat(64), rule_type: 'BINARY', policy: 'REMOVE' };

/** A rule as Santa receives it: its policy, or REMOVE for a deleted row, and the texts it has. */
function santaRule(row: RuleRow): RuleDownload['rules'][number] {
  if (row.deleted)
    return { identifier: row.identifier, rule_type: row.rule_type, policy: 'REMOVE' };
  const texts: Partial<Record<RuleDetailField, string>> = {};
  for (const field of RULE_DETAIL_FIELDS) {
    const text = row[field];
    if (text) texts[field] = text;
  }
  return { identifier: row.identifier, rule_type: row.rule_type, policy: row.policy, ...texts };
}

async function postflight(
  repos: Repositories,
  body: Record<string, unknown>,
  machine: MachinesTable,
): Promise<Record<string, never>> {
  const machineId = machine.machine_id;
  optionalCount(body, 'rules_received', 'postflight');
  optionalCount(body, 'rules_processed', 'postflight');
  if (machine.sync_version === null) throw new RequestError(409, 'postflight: run preflight first');
  await repos.machines.update(machineId, {
    acked_version: machine.sync_version,
    last_sync_at: Date.now(),
    sync_version: null,
    sync_type: null,
    clean_requested: 0,
    // A CLEAN_ALL ordered during this sync (after its preflight) waits for the next one.
    ...(machine.sync_type === 'CLEAN_ALL' ? { clean_all_requested: 0 } : {}),
    rules_hash: optionalString(body, 'rules_hash', 'postflight') ?? machine.rules_hash,
    // What this sync resolved rules for: a change of either before the next one asks for a clean.
    synced_membership: membershipOf(machine),
    ...(isCleanSync(machine) ? { clean_version: machine.sync_version } : {}),
  });
  return {};
}

/** Behind authenticateMachine (routes/machine/index.ts): the path's machine is the caller. */
export async function santaRoutes(fastify: FastifyInstance, options: SantaOptions): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const repos = app.repos;
  // Each stage's body with its keys in snake_case (Santa clients send either), and the caller.
  const input = (stage: string, request: { body: unknown }) => normalizeKeys(request.body, stage);
  const answers = <T extends TSchema>(schema: T) => ({
    schema: { params: MachineParams, response: { 200: schema, ...Refusals } },
  });

  app.post('/santa/preflight/:machine_id', answers(Preflight), async (request) =>
    preflight(repos, options, input('preflight', request), machineOf(request)),
  );
  app.post('/santa/eventupload/:machine_id', answers(EventUpload), async (request) => {
    const body = input('eventupload', request);
    const raw = body.events ?? [];
    if (!Array.isArray(raw)) throw new SantaRequestError('eventupload: events must be a list');
    // Both checked before either is stored, so a bad file access event stores nothing.
    const fileAccess = fileAccessEventsOf(body);
    await repos.events.ingest(machineOf(request).machine_id, raw.map(parseEvent));
    await repos.fileAccess.ingest(machineOf(request).machine_id, fileAccess);
    return { event_upload_bundle_binaries: [] };
  });
  app.post('/santa/ruledownload/:machine_id', answers(RuleDownload), async (request) =>
    ruledownload(repos, options, input('ruledownload', request), machineOf(request)),
  );
  app.post('/santa/postflight/:machine_id', answers(Postflight), async (request) =>
    postflight(repos, input('postflight', request), machineOf(request)),
  );
}
