// gatehousectl: the command line for the Gatehouse service.
// Exit codes: 0 success; 1 the service refused or failed; 2 usage error; 3 the service is not
// reachable; 4 permission denied (the command needs root).
import type { PostureResult } from '../../common/posture';
import { PRODUCT_VERSION } from '../../common/version';
import { nativeAddon } from '../../native/index';
import type { AgentStatus } from '../agent/agent';
import { ControlClient, ControlError, DEFAULT_SOCKET_PATH } from '../agent/control/client';
import { RPC_ERROR as ERROR } from '../../common/control';
import type { ControlSocketStatus } from '../agent/control/server';
import { DECISION_REASONS } from '../../common/policy';
import type { StoredEvent } from '../agent/store/events';
import type { StoredRequest } from '../agent/store/requests';
import { fileInfo } from './fileinfo';

export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3, forbidden: 4 } as const;

const USAGE = `usage: gatehousectl <command> [options] [--json] [--socket PATH]

commands:
  status                       mode, rule counts, cache figures, watched filesystems, events waiting
  fileinfo PATH [--check]      SHA-256, size, kind, package; --check: the decision and why
  rule --allow|--block|--remove (--sha256 HEX | --path FILE) [--message TEXT] [--comment TEXT]
                               add or remove a BINARY rule (root)
  events [--limit N]           recent events (yours; all of them for root), with their ids
  request EVENT_ID TEXT…       ask the helpdesk to approve a blocked program, saying why
  requests                     your approval requests, their state and the helpdesk's messages
  sync                         ask the service to sync now
  posture [--run]              security posture checks; --run: run them now and wait
  version                      versions of gatehousectl and the native addon

exit codes: 0 ok, 1 refused or failed, 2 usage, 3 service not reachable, 4 needs root`;

type Out = (line: string) => void;

interface Parsed {
  readonly command: string | undefined;
  readonly positional: string[];
  readonly flags: Map<string, string | true>;
}

const VALUE_FLAGS = new Set([
  '--sha256',
  '--path',
  '--message',
  '--comment',
  '--limit',
  '--socket',
]);

function parse(argv: readonly string[]): Parsed | string {
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) positional.push(arg);
    else if (VALUE_FLAGS.has(arg)) {
      const value = argv[++i];
      if (value === undefined) return `${arg} needs a value`;
      flags.set(arg, value);
    } else flags.set(arg, true);
  }
  return { command: positional.shift(), positional, flags };
}

function formatStatus(s: AgentStatus & { controlSocket?: ControlSocketStatus }): string {
  const lines = [
    '>>> Daemon Info',
    `  Mode                      | ${s.mode}${s.failClosed ? ' (fail closed)' : ''}`,
    `  Monitor                   | ${s.monitorRunning ? `running (${s.backend})` : 'not running'}`,
    `  Watched filesystems       | ${s.watched.map((w) => `${w.path} (${w.fstype} ${w.device}, ${w.mark})`).join(', ') || 'none'}`,
    '>>> Cache Info',
    `  Hits / misses             | ${s.cache ? `${s.cache.cacheHits} / ${s.cache.cacheMisses}` : '-'}`,
    `  Kernel allow marks        | ${s.cache?.ignoreMarks ?? '-'}`,
    '>>> Database Info',
    ...Object.entries(s.ruleCounts).map(([type, n]) => `  ${`${type} rules`.padEnd(26)}| ${n}`),
    ...(s.rulesSkipped?.count
      ? [
          `  ${'Rules not enforced'.padEnd(26)}| ${s.rulesSkipped.count} stored rules the exec monitor refuses`,
          ...s.rulesSkipped.first.map((reason) => `  ${''.padEnd(26)}|      ${reason}`),
        ]
      : []),
    `  Events pending upload     | ${s.eventsPendingUpload}`,
    '>>> Sync Info',
    `  Sync server               | ${s.syncBaseUrl ?? 'none'}`,
    `  Last sync                 | ${s.lastSync ? new Date(s.lastSync).toISOString() : 'never'}`,
    '>>> Posture',
    ...formatPosture(s.posture ?? []),
    ...(s.controlSocket ? formatControlSocket(s.controlSocket) : []),
  ];
  return lines.join('\n');
}

function formatControlSocket(c: ControlSocketStatus): string[] {
  const refused = Object.entries(c.refused).filter(([, n]) => n > 0);
  const files = c.openFiles;
  return [
    '>>> Control Socket',
    `  Connections               | root ${c.connections.root}/${c.limits.root}, others ${c.connections.others}/${c.limits.unprivileged} (${c.limits.perUser} per user)`,
    `  Not read, paused          | ${c.paused}`,
    `  Refused or cut off        | ${refused.map(([kind, n]) => `${kind} ${n}`).join(', ') || 'none'}`,
    `  Open files                | ${files.open ?? '?'} of ${files.soft ?? '?'} (hard limit ${files.hard ?? '?'})`,
  ];
}

const MARK = { pass: 'pass', fail: 'FAIL', unknown: '?   ' } as const;

/** One line per check; a check that does not pass gets its evidence and remediation below. */
export function formatPosture(results: readonly PostureResult[]): string[] {
  if (results.length === 0) return ['  not checked yet'];
  return results.flatMap((r) => [
    `  ${r.title.padEnd(26)}| ${MARK[r.status]} ${r.status === 'pass' ? r.evidence : ''}`.trimEnd(),
    ...(r.status === 'pass'
      ? []
      : [`  ${''.padEnd(26)}|      ${r.evidence}`, `  ${''.padEnd(26)}|      → ${r.remediation}`]),
  ]);
}

function formatEvent(e: StoredEvent): string {
  const when = new Date(e.lastSeen * 1000).toISOString();
  const count = e.occurrences > 1 ? ` ×${e.occurrences}` : '';
  const hash = e.fileSha256 ? `sha256=${e.fileSha256}` : 'not hashed';
  const why = e.reason ? `  (${DECISION_REASONS[e.reason]})` : '';
  return `#${e.id}  ${when}  ${e.decision.padEnd(15)} ${e.filePath}/${e.fileName}${count}  user=${e.executingUser ?? e.uid} ${hash}${why}`;
}

const STATE_TEXT: Record<string, string> = {
  queued: 'queued (goes to the helpdesk with the next sync)',
  pending: 'waiting for the helpdesk',
  'needs-info': 'the helpdesk asked a question',
  approved: 'approved',
  denied: 'denied',
};

function formatRequest(r: StoredRequest): string {
  return [
    `request #${r.id} for event #${r.eventId}: ${STATE_TEXT[r.state] ?? r.state}`,
    `  you: ${r.justification}`,
    ...r.messages.map((m) => `  ${m.author === 'helpdesk' ? m.authorName : 'you'}: ${m.body}`),
  ].join('\n');
}

export async function runCtl(
  argv: readonly string[],
  out: Out = console.log,
  err: Out = console.error,
): Promise<number> {
  const parsed = parse(argv);
  if (typeof parsed === 'string') {
    err(`gatehousectl: ${parsed}\n\n${USAGE}`);
    return EXIT.usage;
  }
  const { command, positional, flags } = parsed;
  const json = flags.has('--json');
  const socketPath =
    (flags.get('--socket') as string | undefined) ??
    process.env.GATEHOUSE_SOCKET ??
    DEFAULT_SOCKET_PATH;
  const print = (value: unknown, human: () => string) =>
    out(json ? JSON.stringify(value, null, 2) : human());
  const usage = (problem: string) => {
    err(`gatehousectl: ${problem}\n\n${USAGE}`);
    return EXIT.usage;
  };

  if (command === undefined || command === 'help' || flags.has('--help')) {
    out(USAGE);
    return command === undefined && !flags.has('--help') ? EXIT.usage : EXIT.ok;
  }
  if (command === 'version') {
    const addon = nativeAddon();
    const versions = {
      gatehousectl: PRODUCT_VERSION,
      native: addon.version(),
      backend: addon.backend(),
    };
    print(
      versions,
      () =>
        `gatehousectl ${versions.gatehousectl}\nnative addon ${versions.native} (${versions.backend})`,
    );
    return EXIT.ok;
  }
  if (
    !['status', 'fileinfo', 'rule', 'events', 'sync', 'request', 'requests', 'posture'].includes(
      command,
    )
  ) {
    return usage(`unknown command "${[command, ...positional].join(' ')}"`);
  }

  // Work that needs no service comes first, so that a usage error never waits on a socket.
  let eventId: number | undefined;
  if (command === 'request') {
    eventId = Number(positional[0]);
    if (!Number.isSafeInteger(eventId) || eventId < 1 || positional.length < 2)
      return usage('request needs an EVENT_ID (from gatehousectl events) and why you need it');
  }
  let ruleRequest:
    { method: 'rules.add' | 'rules.remove'; params: Record<string, unknown> } | undefined;
  let info: Awaited<ReturnType<typeof fileInfo>> | undefined;
  try {
    if (command === 'fileinfo') {
      if (positional.length !== 1) return usage('fileinfo needs exactly one PATH');
      info = await fileInfo(positional[0]!);
      if (!flags.has('--check')) {
        print(info, () =>
          Object.entries(info!)
            .map(([k, v]) => `${k.padEnd(14)}: ${v}`)
            .join('\n'),
        );
        return EXIT.ok;
      }
    }
    if (command === 'rule') {
      const actions = ['--allow', '--block', '--remove'].filter((flag) => flags.has(flag));
      if (actions.length !== 1)
        return usage('rule needs exactly one of --allow, --block, --remove');
      const sha = flags.get('--sha256');
      const path = flags.get('--path');
      if ((sha === undefined) === (path === undefined))
        return usage('rule needs exactly one of --sha256 HEX or --path FILE');
      const identifier = typeof sha === 'string' ? sha : (await fileInfo(path as string)).sha256;
      const message = flags.get('--message');
      const comment = flags.get('--comment');
      ruleRequest =
        actions[0] === '--remove'
          ? { method: 'rules.remove', params: { type: 'BINARY', identifier } }
          : {
              method: 'rules.add',
              params: {
                type: 'BINARY',
                identifier,
                policy: actions[0] === '--allow' ? 'ALLOWLIST' : 'BLOCKLIST',
                ...(typeof message === 'string' ? { customMsg: message } : {}),
                ...(typeof comment === 'string' ? { comment } : {}),
              },
            };
    }
  } catch (error) {
    err(`gatehousectl: ${(error as Error).message}`);
    return EXIT.failed;
  }

  let client: ControlClient;
  try {
    client = await ControlClient.connect(socketPath);
  } catch (error) {
    err(`gatehousectl: ${(error as Error).message}`);
    return EXIT.unreachable;
  }
  try {
    switch (command) {
      case 'status': {
        const status = await client.call<AgentStatus>('status');
        print(status, () => formatStatus(status));
        break;
      }
      case 'fileinfo': {
        const check = await client.call<{ decision: string; reason: string; customMsg?: string }>(
          'fileinfo',
          {
            sha256: info!.sha256,
            md5: info!.md5,
            path: info!.path,
          },
        );
        const combined = { ...info!, ...check };
        print(combined, () =>
          [
            ...Object.entries(info!).map(([k, v]) => `${k.padEnd(14)}: ${v}`),
            `${'decision'.padEnd(14)}: ${check.decision} (${check.reason})`,
          ].join('\n'),
        );
        break;
      }
      case 'rule': {
        const result = await client.call(ruleRequest!.method, ruleRequest!.params);
        print(result, () =>
          ruleRequest!.method === 'rules.add'
            ? `added: ${JSON.stringify(result)}`
            : `removed: ${JSON.stringify(result)}`,
        );
        break;
      }
      case 'events': {
        const limit = flags.has('--limit') ? Number(flags.get('--limit')) : 50;
        const events = await client.call<StoredEvent[]>('events', { limit });
        print(events, () => (events.length ? events.map(formatEvent).join('\n') : 'no events'));
        break;
      }
      case 'request': {
        const request = await client.call<StoredRequest>('requests.create', {
          eventId: eventId!,
          justification: positional.slice(1).join(' '),
        });
        print(request, () => formatRequest(request));
        break;
      }
      case 'requests': {
        const requests = await client.call<StoredRequest[]>('requests.list');
        print(requests, () =>
          requests.length ? requests.map(formatRequest).join('\n') : 'no requests',
        );
        break;
      }
      case 'posture': {
        const posture = flags.has('--run')
          ? await client.call<PostureResult[]>('posture.run')
          : (await client.call<AgentStatus>('status')).posture;
        print(posture, () => formatPosture(posture).join('\n'));
        break;
      }
      case 'sync': {
        const result = await client.call<{ started: boolean; reason?: string }>('sync');
        print(result, () =>
          result.started ? 'sync started' : `sync not started: ${result.reason}`,
        );
        break;
      }
    }
    return EXIT.ok;
  } catch (error) {
    if (error instanceof ControlError) {
      err(`gatehousectl: ${error.message}`);
      return error.code === ERROR.forbidden
        ? EXIT.forbidden
        : error.code === ERROR.invalidParams
          ? EXIT.usage
          : EXIT.failed;
    }
    err(`gatehousectl: ${(error as Error).message}`);
    return EXIT.failed;
  } finally {
    client.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await runCtl(process.argv.slice(2));
}
