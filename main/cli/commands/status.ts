import type {
  ControlSocketStatus,
  ServiceStatus,
  SettingSource,
  SyncedSettings,
} from '../../../common/control';
import { askingCommand } from '../command';
import { formatPosture } from './posture';

function formatStatus(s: ServiceStatus): string {
  const lines = [
    '>>> Daemon Info',
    `  Mode                      | ${s.mode}${s.failClosed ? ' (fail closed)' : ''}`,
    `  Monitor                   | ${s.monitorRunning ? `running (${s.backend})` : 'not running'}`,
    `  Watched filesystems       | ${s.watched.map((w) => `${w.path} (${w.fstype} ${w.device}, ${w.mark})`).join(', ') || 'none'}`,
    ...(s.execGate ? formatExecGate(s.execGate) : []),
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
    // An older service answers without them.
    ...(s.settings ? formatSettings(s.settings) : []),
    '>>> Sync Info',
    `  Sync server               | ${s.syncBaseUrl ?? 'none'}`,
    `  Last sync                 | ${s.lastSync ? new Date(s.lastSync).toISOString() : 'never'}`,
    '>>> Posture',
    ...formatPosture(s.posture ?? []),
    // An older service answers without its socket's figures.
    ...(s.controlSocket ? formatControlSocket(s.controlSocket) : []),
  ];
  return lines.join('\n');
}

const FROM: Record<SettingSource, string> = {
  config: 'the configuration file',
  server: 'the sync server',
};

/** Santa's settings the sync server may set, each with where its value came from. */
export function formatSettings({
  transitive,
  allEventUpload,
  eventDetail,
}: SyncedSettings): string[] {
  const onOff = (on: boolean) => (on ? 'on' : 'off');
  return [
    '>>> Transitive Allowlisting',
    `  Enabled                   | ${onOff(transitive.enabled)} (from ${FROM[transitive.source]})`,
    `  Transitive rules          | ${transitive.held}`,
    '>>> Sync Settings',
    `  All event upload          | ${onOff(allEventUpload.enabled)} (from ${FROM[allEventUpload.source]})`,
    `  Event detail URL          | ${eventDetail.url ?? 'none (no Open button)'} (from ${FROM[eventDetail.source]})`,
    `  Event detail text         | ${eventDetail.text ?? 'Open…'}`,
  ];
}

export function formatExecGate(g: NonNullable<ServiceStatus['execGate']>): string[] {
  return [
    '>>> Exec Gate',
    `  Coverage                  | ${g.gaps ? `execs on watched filesystems only: ${g.gaps}` : 'every route (fanotify and the BPF LSM)'}`,
    `  Not decided in time       | ${g.deadline} (the fail mode answered)`,
    `  Too large / busy          | ${g.tooLarge} / ${g.busy}`,
    `  Written while deciding    | ${g.openForWriting + g.writtenWhileDeciding} refused, ${g.writeInvalidations} allows forgotten on a write`,
    `  Watched for writes        | ${g.guardedFiles} allowed files`,
    `  Other routes              | ${g.routeBlocks} refused, ${g.routeReports} recorded`,
  ];
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

export const status = askingCommand(
  {
    name: 'status',
    synopsis: 'status',
    summary: 'mode, rule counts, cache figures, watched filesystems, events waiting',
  },
  (service) => service.call('status'),
  formatStatus,
);
