// The agent's status as the menu-bar app sees it, and what it means in plain words.

export type ClientMode = 'MONITOR' | 'LOCKDOWN';

export interface AgentStatus {
  /** False when the menu-bar app cannot reach the service's control socket. */
  readonly reachable: boolean;
  readonly mode?: ClientMode;
  /** Whether the exec monitor is attached to the kernel. */
  readonly monitorRunning?: boolean;
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
