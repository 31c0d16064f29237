// What one server process holds: the stream limit stays below the open-files limit, and a bad
// GATEHOUSE_MAX_STREAMS or GATEHOUSE_MAX_MACHINES stops the server with its reason.
import { describe, expect, it } from 'vitest';
import { RESERVED_DESCRIPTORS, serverCapacity } from '../../../server/capacity';
import { DEFAULT_MAX_MACHINES } from '../../../server/db/enrollment';
import { DEFAULT_MAX_STREAMS } from '../../../server/push';

const limit =
  (soft: number, hard = soft) =>
  () => ({ limit: { soft, hard } });

describe('server capacity', () => {
  it('keeps the stream limit below the open-files limit, and says so', () => {
    const capacity = serverCapacity({ GATEHOUSE_MAX_STREAMS: '50000' }, limit(4096));
    expect(capacity.maxStreams).toBe(4096 - RESERVED_DESCRIPTORS);
    expect(capacity.notes).toEqual([
      `holds at most ${4096 - RESERVED_DESCRIPTORS} push streams (open files limit 4096, ${RESERVED_DESCRIPTORS} kept for everything else)`,
      `GATEHOUSE_MAX_STREAMS asks for 50000, more than the open files limit allows: raise LimitNOFILE (systemd) or ulimit -n to ${50000 + RESERVED_DESCRIPTORS}`,
    ]);
  });

  it('takes the configured or default limit when descriptors allow it', () => {
    expect(serverCapacity({}, limit(1 << 20)).maxStreams).toBe(DEFAULT_MAX_STREAMS);
    expect(serverCapacity({ GATEHOUSE_MAX_STREAMS: '300' }, limit(1 << 20)).maxStreams).toBe(300);
  });

  it('says when it raised the limit', () => {
    const raised = () => ({ limit: { soft: 65536, hard: 65536 }, raisedFrom: 1024 });
    expect(serverCapacity({}, raised).notes[0]).toBe('open files limit raised from 1024 to 65536');
  });

  it.each(['0', '-5', 'lots', '1.5'])('refuses GATEHOUSE_MAX_STREAMS=%s', (value) => {
    expect(() => serverCapacity({ GATEHOUSE_MAX_STREAMS: value }, limit(4096))).toThrow(
      `server: GATEHOUSE_MAX_STREAMS must be a whole number of push streams from 1 up, got "${value}"`,
    );
  });

  it('takes GATEHOUSE_MAX_MACHINES, or its default', () => {
    expect(serverCapacity({}, limit(4096)).maxMachines).toBe(DEFAULT_MAX_MACHINES);
    expect(serverCapacity({ GATEHOUSE_MAX_MACHINES: '250' }, limit(4096)).maxMachines).toBe(250);
  });

  it.each(['0', '-5', 'lots', '1.5', '1e3', ''])('refuses GATEHOUSE_MAX_MACHINES=%s', (value) => {
    expect(() => serverCapacity({ GATEHOUSE_MAX_MACHINES: value }, limit(4096))).toThrow(
      `server: GATEHOUSE_MAX_MACHINES must be a whole number of machines from 1 up, got "${value}"`,
    );
  });

  it('reads this process for real', () => {
    const capacity = serverCapacity({});
    expect(capacity.maxStreams).toBeGreaterThan(0);
    if (process.platform === 'linux') expect(capacity.openFiles?.soft).toBeGreaterThan(0);
  });
});
