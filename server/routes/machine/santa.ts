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
import type { IncomingEvent } from '../../db/events';
import { RequestError } from '../../db/requests';
import type { MachinesTable } from '../../db/schema';
import { machineOf } from '../../plugins/machine-auth';
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
  await repos.rules.expire();
  const clean = requestClean || machine.clean_requested === 1;
  const version = await repos.rules.currentVersion();
  await repos.machines.update(machineId, {
    serial_num: optionalString(body, 'serial_num', where) ?? machine.serial_num,
    hostname: optionalString(body, 'hostname', where) ?? machine.hostname,
    os_version: optionalString(body, 'os_version', where) ?? machine.os_version,
    os_build: optionalString(body, 'os_build', where) ?? machine.os_build,
    model_identifier: optionalString(body, 'model_identifier', where) ?? machine.model_identifier,
    agent_version: optionalString(body, 'santa_version', where) ?? machine.agent_version,
    primary_user: optionalString(body, 'primary_user', where) ?? machine.primary_user,
    client_mode: clientMode ?? machine.client_mode,
    rule_counts: JSON.stringify(counts),
    rules_hash: optionalString(body, 'rules_hash', where) ?? null,
    last_preflight_at: Date.now(),
    sync_type: clean ? 'CLEAN' : 'NORMAL',
    sync_version: version,
    clean_requested: clean ? 1 : 0,
  });
  return {
    sync_type: clean ? 'CLEAN' : 'NORMAL',
    // Deprecated, for clients that predate sync_type (newer ones ignore it when sync_type is set).
    ...(clean ? { clean_sync: true } : {}),
    batch_size: options.batchSize,
    full_sync_interval: options.fullSyncIntervalS,
    ...(options.eventDetailUrl ? { event_detail_url: options.eventDetailUrl } : {}),
  };
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
  const machineId = machine.machine_id;
  if (machine.sync_version === null)
    throw new RequestError(409, 'ruledownload: run preflight first');
  const cursor = optionalString(body, 'cursor', 'ruledownload', 64);
  if (cursor !== undefined && cursor !== '' && !/^\d+$/.test(cursor)) {
    throw new SantaRequestError('ruledownload: cursor must be the string this server returned');
  }
  const clean = machine.sync_type === 'CLEAN';
  // Nothing has changed since this machine's last sync: no query needed.
  if (!clean && Number(machine.acked_version) >= Number(machine.sync_version)) return { rules: [] };
  const rows = await repos.rules.changesFor(
    machineId,
    clean ? 0 : Number(machine.acked_version),
    Number(machine.sync_version),
    cursor ? Number(cursor) : 0,
    options.pageSize + 1,
    clean,
    machine.primary_user,
    JSON.parse(machine.tags) as string[],
  );
  const page = rows.slice(0, options.pageSize);
  return {
    rules: page.map((row) => ({
      identifier: row.identifier,
      rule_type: row.rule_type,
      policy: row.deleted ? 'REMOVE' : row.policy,
      ...(row.custom_msg && !row.deleted ? { custom_msg: row.custom_msg } : {}),
      ...(row.custom_url && !row.deleted ? { custom_url: row.custom_url } : {}),
    })),
    // A cursor is a JSON string (strict proto parsing in current Santa clients).
    ...(rows.length > options.pageSize ? { cursor: String(page[page.length - 1]!.version) } : {}),
  };
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
    rules_hash: optionalString(body, 'rules_hash', 'postflight') ?? machine.rules_hash,
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
    const raw = input('eventupload', request).events ?? [];
    if (!Array.isArray(raw)) throw new SantaRequestError('eventupload: events must be a list');
    await repos.events.ingest(machineOf(request).machine_id, raw.map(parseEvent));
    return { event_upload_bundle_binaries: [] };
  });
  app.post('/santa/ruledownload/:machine_id', answers(RuleDownload), async (request) =>
    ruledownload(repos, options, input('ruledownload', request), machineOf(request)),
  );
  app.post('/santa/postflight/:machine_id', answers(Postflight), async (request) =>
    postflight(repos, input('postflight', request), machineOf(request)),
  );
}
