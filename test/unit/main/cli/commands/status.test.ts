// gatehousectl status: whether transitive rules are on, from where, and how many are held, beside
// the other settings the sync server may set (issues 17 and 19).
import { describe, expect, it } from 'vitest';
import { formatSettings } from '../../../../../main/cli/commands/status';

describe('gatehousectl status', () => {
  it('names where each setting came from', () => {
    expect(
      formatSettings({
        transitive: { enabled: true, source: 'server', held: 3 },
        allEventUpload: { enabled: false, source: 'config' },
        eventDetail: { url: 'https://help.example/%file_sha%', text: null, source: 'server' },
      }),
    ).toEqual([
      '>>> Transitive Allowlisting',
      '  Enabled                   | on (from the sync server)',
      '  Transitive rules          | 3',
      '>>> Sync Settings',
      '  All event upload          | off (from the configuration file)',
      '  Event detail URL          | https://help.example/%file_sha% (from the sync server)',
      '  Event detail text         | Open…',
    ]);
  });

  it('says when there is no Open button', () => {
    expect(
      formatSettings({
        transitive: { enabled: false, source: 'config', held: 0 },
        allEventUpload: { enabled: true, source: 'server' },
        eventDetail: { url: null, text: 'Ask IT', source: 'config' },
      }),
    ).toContain(
      '  Event detail URL          | none (no Open button) (from the configuration file)',
    );
  });
});
