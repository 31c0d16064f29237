import { describe, expect, it } from 'vitest';
import { isSafeExternalUrl, isTrustedRendererUrl } from '../../../../main/app/security';

describe('isSafeExternalUrl', () => {
  it.each(['https://helpdesk.example.com/event/1', 'https://example.com'])('allows %s', (url) => {
    expect(isSafeExternalUrl(url)).toBe(true);
  });

  it.each([
    'http://example.com',
    'file:///etc/passwd',
    'javascript:alert(1)',
    'not a url',
    'https://user:pw@example.com/',
    'smb://server/share',
  ])('refuses %s', (url) => {
    expect(isSafeExternalUrl(url)).toBe(false);
  });
});

describe('isTrustedRendererUrl', () => {
  const root = { fileDir: '/opt/Gatehouse/resources/app/out/renderer' };

  it('trusts the packaged renderer page', () => {
    expect(
      isTrustedRendererUrl('file:///opt/Gatehouse/resources/app/out/renderer/index.html', root),
    ).toBe(true);
  });

  it.each([
    'https://evil.example/',
    'file:///opt/Gatehouse/resources/app/out/renderer-evil/index.html',
    'file:///tmp/index.html',
    '',
  ])('refuses %j', (url) => {
    expect(isTrustedRendererUrl(url, root)).toBe(false);
  });

  it('trusts only the exact dev-server origin in development', () => {
    const dev = { devOrigin: 'http://localhost:5173' };
    expect(isTrustedRendererUrl('http://localhost:5173/index.html', dev)).toBe(true);
    expect(isTrustedRendererUrl('http://localhost:5174/index.html', dev)).toBe(false);
  });
});
