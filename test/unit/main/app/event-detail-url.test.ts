import { describe, expect, it } from 'vitest';
import {
  encodeUnreserved,
  expandEventDetailUrl,
  hasEventDetailUrl,
} from '../../../../main/app/event-detail-url';

describe('EventDetailURL placeholders', () => {
  it("expands Santa's placeholders", () => {
    const sha = 'a'.repeat(64);
    expect(
      expandEventDetailUrl(
        'https://sync.example/%machine_id%/%file_sha%?id=%file_identifier%&u=%username%&h=%hostname%',
        {
          fileIdentifier: sha,
          bundleOrFileIdentifier: sha,
          machineId: 'ada-laptop',
          username: 'ada',
          hostname: 'ada.example.com',
        },
      ),
    ).toBe(`https://sync.example/ada-laptop/${sha}?id=${sha}&u=ada&h=ada.example.com`);
  });

  it('percent-encodes values so that only unreserved characters are left', () => {
    expect(
      expandEventDetailUrl('https://x.example/?u=%username%&m=%machine_id%', {
        username: "o'brien (admin)*!",
        machineId: 'a b/c?d&e=f#g%h~i_j.k-l',
      }),
    ).toBe(
      'https://x.example/?u=o%27brien%20%28admin%29%2A%21&m=a%20b%2Fc%3Fd%26e%3Df%23g%25h~i_j.k-l',
    );
    expect(encodeUnreserved('é')).toBe('%C3%A9');
  });

  it('leaves a placeholder without a value, and unknown tokens, untouched', () => {
    expect(
      expandEventDetailUrl('https://x.example/%serial%/%team_id%/%not_a_placeholder%/%username%', {
        username: 'ada',
      }),
    ).toBe('https://x.example/%serial%/%team_id%/%not_a_placeholder%/ada');
  });

  it('a value cannot smuggle in another placeholder or a new host', () => {
    expect(
      expandEventDetailUrl('https://x.example/%username%/%machine_id%', {
        username: '%machine_id%@evil.example',
        machineId: 'm',
      }),
    ).toBe('https://x.example/%25machine_id%25%40evil.example/m');
  });

  it.each([
    [undefined, false],
    ['', false],
    ['null', false],
    ['https://x.example/%file_sha%', true],
  ])('%j configured: %s', (template, expected) => {
    expect(hasEventDetailUrl(template)).toBe(expected);
  });
});
