// /metrics: what it reports after real traffic, and who may read it (loopback callers when no
// token is configured; with GATEHOUSE_METRICS_TOKEN, only a caller presenting it).
import { describe, expect, it } from 'vitest';
import { useScratchPerTest } from '../../../helpers/scratch';
import { startTestServer } from '../../../helpers/server';

describe('/metrics', () => {
  const { cleanups } = useScratchPerTest('metrics');

  it('reports sync stage latency, streams held and the database probe, to loopback callers', async () => {
    const server = await startTestServer('sqlite');
    cleanups.push(() => server.close());
    const token = await server.repos.machines.enroll('measured', {});
    const preflight = await fetch(`${server.base}/santa/preflight/measured`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ serial_num: 'S1', hostname: 'h', os_version: '14.0' }),
    });
    expect(preflight.status).toBe(200);
    const response = await fetch(`${server.base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toMatch(
      /^gatehouse_sync_stage_duration_seconds_count\{stage="preflight",status="200"\} 1$/m,
    );
    expect(text).toMatch(/^gatehouse_push_streams_held 0$/m);
    expect(text).toMatch(/^gatehouse_db_probe_seconds \d/m);
    expect(text).toMatch(/^gatehouse_process_resident_memory_bytes \d+$/m);
    // Anyone else is told how to get in.
    const remote = await server.app.inject({ url: '/metrics', remoteAddress: '10.1.2.3' });
    expect(remote.statusCode).toBe(403);
    expect(remote.json()).toEqual({
      error:
        'metrics are served to this machine only (set GATEHOUSE_METRICS_TOKEN to scrape from elsewhere)',
    });
  });

  it('asks for the configured token from every caller', async () => {
    const server = await startTestServer('sqlite', { metricsToken: 'scrape-secret-1' });
    cleanups.push(() => server.close());
    const without = await fetch(`${server.base}/metrics`);
    expect(without.status).toBe(401);
    expect(await without.json()).toEqual({
      error: 'metrics need Authorization: Bearer <GATEHOUSE_METRICS_TOKEN>',
    });
    const wrong = await fetch(`${server.base}/metrics`, {
      headers: { authorization: 'Bearer scrape-secret-2' },
    });
    expect(wrong.status).toBe(401);
    const right = await fetch(`${server.base}/metrics`, {
      headers: { authorization: 'Bearer scrape-secret-1' },
    });
    expect(right.status).toBe(200);
  });
});
