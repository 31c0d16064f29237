// The service's figures in Prometheus' text format, for `gatehousectl metrics` (the control
// socket's `metrics` method): the exec monitor's counters, the exec gate's answers that were not
// the rules' own, rules, events waiting, the last sync, the control socket's connections and
// refusals, and Node's own process metrics (RSS, descriptors, event-loop lag). Each gauge reads
// the status when the figures are asked for, so nothing is kept twice.
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { ServiceStatus } from '../../../common/control';

type Read = (status: ServiceStatus) => ReadonlyArray<[Record<string, string>, number]>;

const numbers = (record: object | null | undefined): [string, number][] =>
  Object.entries(record ?? {}).filter(
    (entry): entry is [string, number] => typeof entry[1] === 'number',
  );

/** name → help, label names and how to read its values from a status. */
const GAUGES: Record<string, [string, string[], Read]> = {
  gatehouse_agent_monitor: [
    "The exec monitor's counters (native), by counter",
    ['counter'],
    (s) => numbers(s.metrics).map(([counter, n]) => [{ counter }, n]),
  ],
  gatehouse_agent_exec_gate: [
    "The exec gate's answers that were not the rules' own, by kind",
    ['kind'],
    (s) => numbers(s.execGate).map(([kind, n]) => [{ kind }, n]),
  ],
  gatehouse_agent_rules: [
    'Rules in force, by type',
    ['type'],
    (s) => Object.entries(s.ruleCounts).map(([type, n]) => [{ type }, n]),
  ],
  gatehouse_agent_lockdown: [
    '1 in LOCKDOWN, 0 in MONITOR',
    [],
    (s) => [[{}, s.mode === 'LOCKDOWN' ? 1 : 0]],
  ],
  gatehouse_agent_monitor_running: [
    '1 while the exec monitor runs',
    [],
    (s) => [[{}, s.monitorRunning ? 1 : 0]],
  ],
  gatehouse_agent_events_pending_upload: [
    'Events not yet uploaded',
    [],
    (s) => [[{}, s.eventsPendingUpload]],
  ],
  gatehouse_agent_events_dropped: [
    'Events dropped at the store limit',
    [],
    (s) => [[{}, s.eventsDropped]],
  ],
  gatehouse_agent_last_sync_seconds: [
    'When the last sync finished (seconds since the epoch; 0: never)',
    [],
    (s) => [[{}, (s.lastSync ?? 0) / 1000]],
  ],
  gatehouse_agent_control_connections: [
    "The control socket's open connections: root's, and everyone else's",
    ['who'],
    (s) => Object.entries(s.controlSocket.connections).map(([who, n]) => [{ who }, n]),
  ],
  gatehouse_agent_control_refused: [
    'Control socket clients refused or cut off, by reason',
    ['reason'],
    (s) => Object.entries(s.controlSocket.refused).map(([reason, n]) => [{ reason }, n]),
  ],
};

export interface AgentMetrics {
  text(): Promise<string>;
}

export function agentMetrics(status: () => ServiceStatus): AgentMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'gatehouse_agent_' });
  let current: ServiceStatus | undefined;
  for (const [name, [help, labelNames, read]] of Object.entries(GAUGES)) {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const [labels, value] of read(current!)) this.set(labels, value);
      },
    });
  }
  return {
    async text() {
      current = status();
      return registry.metrics();
    },
  };
}
