// `gatehousectl metrics`: the service's figures through the control socket, in Prometheus' text
// format, from a real agent (fake exec source) and its control server.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Agent } from '../../../../../main/agent/agent';
import { parseConfig } from '../../../../../main/agent/config/config';
import { ControlServer } from '../../../../../main/agent/control/server';
import { runCtl } from '../../../../../main/cli/gatehousectl';
import { copyExecutable } from '../../../../helpers/files';
import { useScratch } from '../../../../helpers/scratch';

describe('gatehousectl metrics', () => {
  const { dir, cleanups } = useScratch('ctl-metrics');

  it("prints the service's figures for Prometheus", async () => {
    const socketPath = join(dir, 'gatehouse.sock');
    const { config } = parseConfig(
      JSON.stringify({
        ClientMode: 'LOCKDOWN',
        StateDir: join(dir, 'state'),
        SocketPath: socketPath,
      }),
      '/test/config.json',
      () => 'm',
    );
    const agent = new Agent(config, { backend: 'fake' });
    agent.start();
    cleanups.push(() => agent.stop());
    const server = new ControlServer(agent, socketPath);
    await server.listen();
    cleanups.push(() => server.close());
    const unknown = copyExecutable('/bin/true', join(dir, 'unknown'), `metrics-${Date.now()}`);
    expect(await agent.monitor.inject(unknown, { pid: 7001, ppid: 1, uid: 1000, gid: 1000 })).toBe(
      false,
    );

    const lines: string[] = [];
    const code = await runCtl(['metrics', '--socket', socketPath], (line) => lines.push(line));
    expect(code).toBe(0);
    const text = lines.join('\n');
    expect(text).toMatch(/^gatehouse_agent_lockdown 1$/m);
    expect(text).toMatch(/^gatehouse_agent_monitor_running 1$/m);
    expect(text).toMatch(/^gatehouse_agent_monitor\{counter="blocked"\} 1$/m);
    expect(text).toMatch(/^gatehouse_agent_rules\{type="BINARY"\} 0$/m);
    expect(text).toMatch(/^gatehouse_agent_control_connections\{who="root"\} \d+$/m);
    expect(text).toMatch(/^gatehouse_agent_process_resident_memory_bytes \d+$/m);
  });
});
