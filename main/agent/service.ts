// `gatehouse --service`: the root role. Loads the config (refusing to start on a bad one), opens
// the stores, attaches the exec monitor and serves the control socket. SIGTERM stops it cleanly,
// the monitor first; SIGHUP reloads the config, keeping the last good one on error.
import { PRODUCT_VERSION } from '../../common/version';
import { nativeAddon } from '../../native/index';
import { Agent } from './agent';
import { ConfigError, DEFAULT_CONFIG_PATH, loadConfig } from './config/config';
import { socketDescriptors } from './control/connections';
import { ControlServer } from './control/server';
import { ensureOpenFileLimit } from './limits';
import { systemHost } from './posture/host';
import { checksFor, PostureMonitor, statusesChanged } from './posture/monitor';
import { SyncScheduler } from './sync/scheduler';

const USAGE = `usage: gatehouse --service [--config FILE] [--backend fanotify|fake]

  --config FILE   configuration (default ${DEFAULT_CONFIG_PATH})
  --backend fake  scripted execs instead of the kernel: nothing is enforced (for trying it out)`;

export interface RunningService {
  readonly agent: Agent;
  readonly server: ControlServer;
  readonly scheduler: SyncScheduler | undefined;
  readonly posture: PostureMonitor;
  stop(): Promise<void>;
}

export function parseServiceArgs(
  argv: readonly string[],
): { configPath: string; backend: 'fanotify' | 'fake' } | string {
  let configPath = DEFAULT_CONFIG_PATH;
  let backend: 'fanotify' | 'fake' = 'fanotify';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--service') continue;
    if (arg === '--config' && argv[i + 1]) configPath = argv[++i]!;
    else if (arg === '--backend' && (argv[i + 1] === 'fanotify' || argv[i + 1] === 'fake'))
      backend = argv[++i] as 'fanotify' | 'fake';
    else return `gatehouse --service: unexpected argument ${JSON.stringify(arg)}\n${USAGE}`;
  }
  return { configPath, backend };
}

/** The posture checks of this OS, with what they need to know of the agent and its syncs. */
function postureFor(agent: Agent, scheduler: SyncScheduler | undefined): PostureMonitor {
  const startedAt = Date.now();
  return new PostureMonitor({
    checks: checksFor(),
    context: {
      host: systemHost(),
      // Read at each run, so that a reloaded configuration applies to the next one.
      get settings() {
        return {
          minimumMacOSVersion: agent.config.postureMinimumMacOSVersion,
          minimumXProtectVersion: agent.config.postureMinimumXProtectVersion,
        };
      },
      gatehouse: () => {
        const status = agent.status();
        return {
          mode: status.mode,
          monitorRunning: status.monitorRunning,
          backend: status.backend,
          syncBaseUrl: status.syncBaseUrl,
          lastSync: status.lastSync,
          lastSyncError: scheduler?.lastError,
          startedAt,
          gateGaps: status.metrics?.gateGaps ?? null,
        };
      },
      now: Date.now,
    },
    intervalMs: agent.config.postureIntervalS * 1000,
    timeoutMs: () => agent.config.postureTimeoutS * 1000,
    onResults: (results) => {
      const before = agent.posture;
      agent.setPosture(results);
      // The helpdesk sees a changed status soon, not at the next full sync.
      if (scheduler && statusesChanged(before, results)) void scheduler.syncNow();
    },
  });
}

/** Under systemd (Type=notify): ready now, and a watchdog ping from the event loop. */
function tellSystemdReady(mode: string): {
  notify: (state: string) => void;
  watchdog: NodeJS.Timeout | undefined;
} {
  const notify = (state: string) => nativeAddon().notifySystemd(state);
  notify(`READY=1\nSTATUS=${mode}`);
  const watchdogUs = Number(process.env.WATCHDOG_USEC);
  const watchdog =
    Number.isFinite(watchdogUs) && watchdogUs > 0
      ? setInterval(() => notify('WATCHDOG=1'), Math.max(watchdogUs / 2000, 500))
      : undefined;
  return { notify, watchdog };
}

/** Starts everything; throws with a message that says what to do when it cannot. */
export async function startService(
  configPath: string,
  backend: 'fanotify' | 'fake',
  log = console.error,
): Promise<RunningService> {
  const { config, warnings } = loadConfig(configPath);
  for (const warning of warnings) log(warning);
  if (backend === 'fanotify' && process.getuid?.() !== 0) {
    throw new Error(
      'gatehouse --service: the exec monitor needs root (CAP_SYS_ADMIN); run it as root, or with --backend fake to try it without enforcement',
    );
  }
  // Before the monitor starts: every exec it decides needs a descriptor of this process.
  ensureOpenFileLimit(socketDescriptors(), log);
  const agent = new Agent(config, { backend, log });
  try {
    agent.start();
  } catch (error) {
    agent.stop();
    throw error;
  }
  const scheduler = config.syncBaseUrl ? new SyncScheduler(agent) : undefined;
  const posture = postureFor(agent, scheduler);
  // "Gatehouse healthy" looks at the last sync: once the first one completes, look again rather
  // than report "not synced yet" until the next scheduled run.
  let synced = false;
  agent.onMessage((message) => {
    if (message.kind !== 'status' || synced || agent.status().lastSync === null) return;
    synced = true;
    void posture.runNow();
  });
  const server = new ControlServer(agent, config.socketPath, undefined, {
    ...(scheduler ? { requestSync: () => void scheduler.syncNow() } : {}),
    runPosture: () => posture.runNow(),
    ...(scheduler
      ? { sendReply: (requestId: number, body: string) => scheduler.reply(requestId, body) }
      : {}),
  });
  try {
    await server.listen();
  } catch (error) {
    agent.stop();
    throw error;
  }
  log(
    `gatehouse service ${PRODUCT_VERSION}: ${agent.mode}${config.failClosed ? ' (fail closed)' : ''}, ` +
      `${agent.monitor.watched().length} filesystems watched, socket ${config.socketPath}`,
  );
  // Under systemd (Type=notify): ready now, and a watchdog ping from the event loop, so that a
  // wedged service is restarted (its exit releases every exec the kernel holds for it).
  scheduler?.start();
  posture.start();
  const { notify, watchdog } = tellSystemdReady(agent.mode);
  let stopping: Promise<void> | undefined;
  return {
    agent,
    server,
    scheduler,
    posture,
    stop: () =>
      (stopping ??= (async () => {
        notify('STOPPING=1');
        if (watchdog) clearInterval(watchdog);
        scheduler?.stop();
        posture.stop();
        agent.stop(); // the kernel is let go first
        await server.close();
      })()),
  };
}

export async function runService(argv: readonly string[]): Promise<number> {
  const parsed = parseServiceArgs(argv);
  if (typeof parsed === 'string') {
    console.error(parsed);
    return 2;
  }
  // Signal handlers come first: a SIGHUP that arrives while the service is starting must not
  // take the default action (terminate), and a SIGTERM then stops it once it is up.
  let service: RunningService | undefined;
  let stopRequested: string | undefined;
  let finish: (code: number) => void = () => undefined;
  const stop = (signal: string) => {
    if (!service) {
      stopRequested = signal;
      return;
    }
    console.error(`gatehouse service: ${signal}, stopping`);
    void service.stop().then(() => finish(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    if (!service) return; // still starting: the configuration is being read anyway
    nativeAddon().notifySystemd('RELOADING=1');
    try {
      const { config, warnings } = loadConfig(parsed.configPath);
      for (const line of [...warnings, ...service.agent.reload(config)]) console.error(line);
      console.error(`gatehouse service: configuration reloaded (${config.clientMode})`);
    } catch (error) {
      console.error(
        `${(error as Error).message}\ngatehouse service: kept the last good configuration`,
      );
    }
    nativeAddon().notifySystemd('READY=1');
  });
  try {
    service = await startService(parsed.configPath, parsed.backend);
  } catch (error) {
    console.error(
      error instanceof ConfigError
        ? `${error.message}\ngatehouse --service: not started`
        : (error as Error).message,
    );
    return error instanceof ConfigError ? 78 : 1; // 78: EX_CONFIG, as systemd expects
  }
  return new Promise<number>((resolve) => {
    finish = resolve;
    if (stopRequested) stop(stopRequested);
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await runService(process.argv.slice(2));
}
