import { describe, expect, it } from 'vitest';
import { apiUrl, stageUrl, syncUrl } from '../../../../../main/agent/sync/url';

describe('sync URLs', () => {
  it('resolves beneath the base whether or not it ends in a slash, as Santa does', () => {
    for (const base of ['https://sync.test/santa', 'https://sync.test/santa/']) {
      expect(String(syncUrl(base, 'preflight/m'))).toBe('https://sync.test/santa/preflight/m');
    }
  });

  it("puts a stage's machine ID in one path segment", () => {
    expect(String(stageUrl('https://sync.test/santa', 'ruledownload', 'a/b c'))).toBe(
      'https://sync.test/santa/ruledownload/a%2Fb%20c',
    );
  });

  it("puts Gatehouse's API beside the Santa base", () => {
    expect(String(apiUrl('https://sync.test/santa', 'enroll'))).toBe(
      'https://sync.test/api/v1/enroll',
    );
    expect(String(apiUrl(new URL('https://sync.test/santa/'), 'requests'))).toBe(
      'https://sync.test/api/v1/requests',
    );
  });
});
