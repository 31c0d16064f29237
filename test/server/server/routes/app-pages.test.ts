// The console's and the portal's pages, served by one function (server/routes/app-pages.ts) from
// a build directory: files as they are, every other page URL as index.html, nothing outside the
// build, each app's strict CSP, and a clear answer when the app is not built.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../helpers/files';
import { startTestServer } from '../../../helpers/server';
import { useStarted } from '../../../helpers/scratch';

const builds = tempDir('app-pages');
afterAll(() => builds.remove());

/** A build of `name` with its index.html and one asset; a secret beside the build. */
function build(name: string): string {
  const dir = join(builds.dir, name, 'out');
  mkdirSync(join(dir, 'assets'), { recursive: true });
  writeFileSync(join(dir, 'index.html'), `<!doctype html><title>${name}</title>`);
  writeFileSync(join(dir, 'assets', 'app.js'), `console.log('${name}');`);
  writeFileSync(join(builds.dir, name, 'secret.txt'), 'not for browsers');
  return dir;
}

describe('the console’s and the portal’s pages', () => {
  const server = useStarted(() =>
    startTestServer('sqlite', { consoleDir: build('console'), portalDir: build('portal') }),
  );

  it.each(['console', 'portal'])(
    'serves the %s’s build, and index.html for its pages',
    async (app) => {
      const asset = await fetch(`${server.base}/${app}/assets/app.js`);
      expect(await asset.text()).toBe(`console.log('${app}');`);
      for (const path of [`/${app}`, `/${app}/`, `/${app}/requests/12?state=all`]) {
        const page = await fetch(`${server.base}${path}`);
        expect(page.status).toBe(200);
        expect(await page.text()).toContain(`<title>${app}</title>`);
        expect(page.headers.get('x-frame-options')).toBe('DENY');
        expect(page.headers.get('referrer-policy')).toBe('no-referrer');
      }
    },
  );

  it.each(['console', 'portal'])('keeps the %s to its build directory', async (app) => {
    for (const path of ['../secret.txt', '..%2fsecret.txt', '%2e%2e/secret.txt']) {
      const answer = await fetch(`${server.base}/${app}/${path}`);
      expect(await answer.text()).not.toContain('not for browsers');
    }
  });

  it('gives each app its own CSP: data: images for the console only', async () => {
    const csp = async (app: string) =>
      (await fetch(`${server.base}/${app}/`)).headers.get('content-security-policy')!;
    for (const app of ['console', 'portal']) {
      expect(await csp(app)).toContain("default-src 'self'");
      expect(await csp(app)).toContain("script-src 'self'");
      expect(await csp(app)).toContain("frame-ancestors 'none'");
    }
    expect(await csp('console')).toContain("img-src 'self' data:");
    expect(await csp('portal')).toContain("img-src 'self';");
    // The API's answers are not pages: no page CSP there.
    const api = await fetch(`${server.base}/portal/api/me`);
    expect(api.headers.get('content-security-policy')).toBeNull();
  });
});

describe('an app that is not built', () => {
  const server = useStarted(() =>
    startTestServer('sqlite', {
      consoleDir: join(builds.dir, 'none-console'),
      portalDir: join(builds.dir, 'none-portal'),
    }),
  );

  it.each(['console', 'portal'])('says the %s is not built', async (app) => {
    const answer = await fetch(`${server.base}/${app}/`);
    expect(answer.status).toBe(503);
    expect(await answer.text()).toBe(`the ${app} is not built: run npm run build`);
  });
});
