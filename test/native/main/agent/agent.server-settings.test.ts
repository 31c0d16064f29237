// What the sync server's preflight set stays set across a restart, as Santa's sync state does, and
// wins over the configuration file once sent (issues 17 and 19): transitive rules, keeping every
// decision as an event, the block dialog's Open button and the full-sync interval. With the fake
// exec source, no root needed.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useFakeAgent } from '../../../helpers/agent';
import { copyExecutable, sha256sum } from '../../../helpers/files';
import { until } from '../../../helpers/wait';

const agents = useFakeAgent('agent-settings');
const startAgent = (settings: Record<string, unknown> = {}) => agents.start(settings);
/** The agent again on the same state, as after a restart of the service. */
const restart = startAgent;

describe("the sync server's settings", () => {
  it('are kept across a restart and win over the configuration file', () => {
    const config = {
      EnableTransitiveRules: false,
      EventDetailURL: 'https://config.example/%file_sha%',
      EventDetailText: 'From config',
    };
    const first = startAgent(config);
    const fromConfig = {
      transitive: { enabled: false, source: 'config', held: 0 },
      allEventUpload: { enabled: false, source: 'config' },
      eventDetail: {
        url: 'https://config.example/%file_sha%',
        text: 'From config',
        source: 'config',
      },
    };
    expect(first.syncedSettings()).toEqual(fromConfig);
    first.applyServerSettings({
      enableTransitiveRules: true,
      eventDetailUrl: 'http://127.0.0.1:8080/portal/%file_sha%',
      fullSyncIntervalS: 120,
    });
    const again = restart(config);
    expect(again.transitiveEnabled).toBe(true);
    expect(again.serverSettings.fullSyncIntervalS).toBe(120);
    // What the server sent changes; the event detail's text, which it did not send, stays.
    expect(again.status().settings).toEqual({
      ...fromConfig,
      transitive: { enabled: true, source: 'server', held: 0 },
      eventDetail: {
        ...fromConfig.eventDetail,
        url: 'http://127.0.0.1:8080/portal/%file_sha%',
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
      const file = copyExecutable('/usr/bin/true', join(agents.dir(), name), name);
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
