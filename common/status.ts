// The agent's status as the menu-bar app sees it, and what it means in plain words.
import type { PostureResult } from './posture';

export type ClientMode = 'MONITOR' | 'LOCKDOWN';

export interface AgentStatus {
  /** False when the menu-bar app cannot reach the service's control socket. */
  readonly reachable: boolean;
  readonly mode?: ClientMode;
  /** Whether the exec monitor is attached to the kernel. */
  readonly monitorRunning?: boolean;
  /** The service's version. */
  readonly version?: string;
  /** When the last sync with the backend completed, milliseconds since the epoch. */
  readonly lastSync?: number | null;
  /** Whether the service has a sync server (SyncBaseURL) configured. */
  readonly syncConfigured?: boolean;
  /** The posture checks the service reports; undefined when it has reported none yet. */
  readonly posture?: readonly PostureResult[];
}

/** What the tray icon and the popover's headline show, most urgent last. */
export type Protection = 'protected' | 'monitor-only' | 'problem' | 'unreachable';

export function protectionOf(status: AgentStatus): Protection {
  if (!status.reachable) return 'unreachable';
  if (!status.monitorRunning) return 'problem';
  return status.mode === 'LOCKDOWN' ? 'protected' : 'monitor-only';
}

export interface ProtectionText {
  readonly headline: string;
  readonly detail: string;
}

const TEXT: Record<Protection, ProtectionText> = {
  protected: {
    headline: 'Protected',
    detail: 'Only approved programs can run on this machine.',
  },
  'monitor-only': {
    headline: 'Monitoring only',
    detail: 'Unknown programs are recorded but not blocked.',
  },
  problem: {
    headline: 'Not protected',
    detail: 'The Gatehouse service is running but is not watching programs start.',
  },
  unreachable: {
    headline: 'Agent not running',
    detail: 'The menu bar cannot reach the Gatehouse service on this machine.',
  },
};

export function describeProtection(protection: Protection): ProtectionText {
  return TEXT[protection];
}

/** The client mode in plain words. */
export function describeMode(mode: ClientMode | undefined): string {
  if (mode === 'LOCKDOWN') return 'Lockdown: unknown programs are blocked';
  if (mode === 'MONITOR') return 'Monitor: unknown programs run and are recorded';
  return 'Mode unknown';
}
