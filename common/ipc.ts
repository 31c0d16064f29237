// The contract between the menu-bar app's main process and its renderer: one verb per function.
import type { AgentStatus } from './status';

export interface GatehouseApi {
  getStatus(): Promise<AgentStatus>;
}

/** Validates a status crossing the process boundary; anything malformed reads as unreachable. */
export function parseAgentStatus(value: unknown): AgentStatus {
  if (typeof value !== 'object' || value === null) return { reachable: false };
  const record = value as Record<string, unknown>;
  if (record.reachable !== true) return { reachable: false };
  const mode = record.mode === 'MONITOR' || record.mode === 'LOCKDOWN' ? record.mode : undefined;
  return {
    reachable: true,
    ...(mode ? { mode } : {}),
    monitorRunning: record.monitorRunning === true,
  };
}
