// What the sync server's preflight set stays set across a restart, as Santa's sync state does, and
// wins over the configuration file once sent (issues 17 and 19): transitive rules, keeping every
// decision as an event, the block dialog's Open button and the full-sync interval. With the fake
// exec source, no root needed.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../../../main/agent/agent';
import { parseConfig } from '../../../../main/agent/config/config';
import { copyExecutable, sha256sum, tempDir } from '../../../helpers/files';
import { until } from '../../../helpers/wait';

let dir: ReturnType<typeof tempDir> | undefined;
let agent: Agent | undefined;
afterEach(() => {
  agent?.stop();
  agent = undefined;
  dir?.remove();
  dir = undefined;
});

function startAgent(settings: Record<string, unknown> = {}): Agent {
  dir ??= tempDir('agent-settings');
  const stateDir = join(dir.dir, 'state');
  mkdirSync(stateDir, { recursive: true });
  const { config } = parseConfig(
    JSON.stringify({ ClientMode: 'LOCKDOWN', StateDir: stateDir, ...settings }),
    '(test)',
    () => 'm',
  );
  agent = new Agent(config, { backend: 'fake', log: () => undefined });
  agent.start();
  return agent;
}

function restart(settings: Record<string, unknown> = {}): Agent {
  agent?.stop();
  return startAgent(settings);
}

describe("the sync server's settings", () => {
  it('are kept across a restart and win over the configuration file', () => {
    const config = {
      EnableTransitiveRules: false,
      EventDetailURL: 'https://config.example/%file_sha%',
      EventDetailText: 'From config',
    };
    const first = startAgent(config);
    expect(first.syncedSettings()).toEqual({
      transitive: { enabled: false, source: 'config', held: 0 },
      allEventUpload: { enabled: false, source: 'config' },
      eventDetail: {
        url: 'https://config.example/%file_sha%',
        text: 'From config',
        source: 'config',
      },
    });
    first.applyServerSettings({
      enableTransitiveRules: true,
      eventDetailUrl: 'http://127.0.0.1:8080/portal/%file_sha%',
      fullSyncIntervalS: 120,
    });
    const again = restart(config);
    expect(again.transitiveEnabled).toBe(true);
    expect(again.serverSettings.fullSyncIntervalS).toBe(120);
    expect(again.status().settings).toEqual({
      transitive: { enabled: true, source: 'server', held: 0 },
      allEventUpload: { enabled: false, source: 'config' },
      eventDetail: {
        url: 'http://127.0.0.1:8080/portal/%file_sha%',
        text: 'From config',
        source: 'server',
      },
    });
    // A later sync that leaves a setting out changes nothing; "null" hides the Open button.
    again.applyServerSettings({ enableTransitiveRules: undefined, eventDetailUrl: 'null' });
    expect(restart(config).syncedSettings()).toMatchObject({
      transitive: { enabled: true, source: 'server' },
      eventDetail: { url: null, source: 'server' },
    });
  });

  it('ignore a row a damaged store holds, as if the server never sent it', () => {
    const first = startAgent({ EnableTransitiveRules: true });
    first.db
      .prepare("INSERT INTO server_settings (name, value) VALUES ('enableTransitiveRules', ?)")
      .run('"yes"');
    expect(restart({ EnableTransitiveRules: true }).syncedSettings().transitive).toEqual({
      enabled: true,
      source: 'config',
      held: 0,
    });
  });

  it("keep every allowed execution as an event to upload once the server's enable_all_event_upload is on", async () => {
    const started = startAgent();
    const allowed = (name: string) => {
      const file = copyExecutable('/usr/bin/true', join(dir!.dir, name), name);
      started.rules.apply(
        [{ type: 'BINARY', identifier: sha256sum(file), policy: 'ALLOWLIST' }],
        'local',
      );
      return file;
    };
    const me = { pid: 7001, ppid: 1, uid: 0, gid: 0 };
    let decided = 0;
    started.monitor.onDecision(() => decided++);
    expect(await started.monitor.inject(allowed('before'), me)).toBe(true);
    await until(() => decided === 1, 'the first decision delivered');
    expect(started.events.list()).toEqual([]);
    started.applyServerSettings({ enableAllEventUpload: true });
    expect(started.syncedSettings().allEventUpload).toEqual({ enabled: true, source: 'server' });
    expect(await started.monitor.inject(allowed('after'), me)).toBe(true);
    await until(() => started.events.list().length > 0, 'the allowed execution recorded');
    expect(started.events.list().map((e) => [e.fileName, e.decision])).toEqual([
      ['after', 'ALLOW_BINARY'],
    ]);
    expect(started.events.countPendingUpload()).toBe(1);
  });
});
