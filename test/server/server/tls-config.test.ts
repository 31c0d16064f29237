// HTTPS and client certificates over real TLS on 127.0.0.1, with certificates made at test
// time: the server booted from GATEHOUSE_TLS_* serves HTTPS; with a client CA, Santa sync needs a
// certificate that CA issued, a new machine id is bound to the certificate of its first
// preflight, and a missing, self-made or other machine's certificate is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../../server/server';
import { tlsFromEnv } from '../../../server/tls-config';
import { makeTestPki, type TestPki } from '../../helpers/certificates';
import { tempDir } from '../../helpers/files';
import { postJson, type TlsClient } from '../../helpers/http-json';
import { ENGINES, startTestServer, type Engine, type TestServer } from '../../helpers/server';

let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
});
afterAll(() => pki?.remove());

/** The server's own certificate and key, as GATEHOUSE_TLS_* name them. */
const serverFiles = () => ({
  GATEHOUSE_TLS_CERT: pki.server.certFile,
  GATEHOUSE_TLS_KEY: pki.server.keyFile,
});

/** A backend for the enclosing describe, with the TLS settings `env` asks for. */
function tlsServer(engine: Engine, secret: string, env: () => NodeJS.ProcessEnv) {
  let server: TestServer | undefined;
  beforeAll(async () => {
    server = await startTestServer(engine, { enrollmentSecret: secret, ...tlsFromEnv(env()) });
  }, 60_000);
  afterAll(() => server?.close());
  return () => server!;
}

describe('HTTPS from GATEHOUSE_TLS_*', () => {
  it('serves the console and Santa sync over TLS, and refuses plain HTTP on its port', async () => {
    const data = tempDir('tls-server');
    const server = await startServer({
      GATEHOUSE_SERVER_PORT: '0',
      GATEHOUSE_DATA_DIR: data.dir,
      GATEHOUSE_ENROLLMENT_SECRET: 'tls-secret',
      GATEHOUSE_ADMIN_PASSWORD: 'tls-admin-password',
      ...serverFiles(),
    });
    try {
      expect(server.address).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const login = await postJson(
        `${server.address}/console/api/login`,
        { username: 'admin', password: 'tls-admin-password' },
        {},
        undefined,
        { ca: pki.ca.cert },
      );
      expect(login.status).toBe(200);
      const preflight = await postJson(
        `${server.address}/santa/preflight/tls-mac`,
        { serial_num: 'TLS-SERIAL' },
        // The fleet credential alone needs a sync token (Santa's XSRF token) at preflight.
        { authorization: 'Bearer tls-secret', 'x-xsrf-token': 'tls-test-sync-token' },
        undefined,
        { ca: pki.ca.cert },
      );
      expect(preflight.status).toBe(200);
      // An untrusted server certificate is refused by the client, as Santa would.
      await expect(postJson(`${server.address}/console/api/login`, {})).rejects.toThrow(
        /self.signed|unable to (get|verify)/i,
      );
      const plain = server.address.replace('https:', 'http:');
      const answer = await postJson(`${plain}/console/api/login`, {}).catch(
        (error: Error) => error,
      );
      expect(answer instanceof Error || answer.status === 400).toBe(true);
    } finally {
      await server.app.close();
      await server.db.destroy();
      data.remove();
    }
  });

  it('says what is wrong with the TLS settings', () => {
    const files = serverFiles();
    expect(() => tlsFromEnv({ GATEHOUSE_TLS_CERT: pki.server.certFile })).toThrow(
      'server: GATEHOUSE_TLS_CERT and GATEHOUSE_TLS_KEY go together: set both',
    );
    expect(() => tlsFromEnv({ ...files, GATEHOUSE_TLS_KEY: '/nonexistent/key.pem' })).toThrow(
      /GATEHOUSE_TLS_KEY names a PEM file that cannot be read: \/nonexistent\/key.pem/,
    );
    expect(() => tlsFromEnv({ ...files, GATEHOUSE_TLS_CLIENT_CERTS: 'always' })).toThrow(
      'server: GATEHOUSE_TLS_CLIENT_CERTS must be optional or required, got "always"',
    );
    expect(() => tlsFromEnv({ ...files, GATEHOUSE_TLS_CLIENT_CERTS: 'required' })).toThrow(
      /needs GATEHOUSE_TLS_CLIENT_CA/,
    );
    expect(() => tlsFromEnv({ GATEHOUSE_TLS_CLIENT_CA: pki.ca.certFile })).toThrow(/need HTTPS/);
    expect(tlsFromEnv({})).toBeUndefined();
    expect(() => tlsFromEnv({ GATEHOUSE_TRUSTED_PROXIES: '127.0.0.1, proxy.local' })).toThrow(
      'server: GATEHOUSE_TRUSTED_PROXIES is a comma-separated list of IP addresses, got "proxy.local"',
    );
    expect(() => tlsFromEnv({ ...files, GATEHOUSE_TRUSTED_PROXIES: '127.0.0.1' })).toThrow(
      /set one or the other/,
    );
    expect(
      tlsFromEnv({ ...files, GATEHOUSE_TLS_CLIENT_CA: pki.ca.certFile })?.clientCertificates,
    ).toBe('optional');
  });
});

describe.each(ENGINES)('client certificates (mTLS) on %s', (engine) => {
  const server = tlsServer(engine, 'mtls-secret', () => ({
    ...serverFiles(),
    GATEHOUSE_TLS_CLIENT_CA: pki.ca.certFile,
    GATEHOUSE_TLS_CLIENT_CERTS: 'required',
  }));

  const as = (pair?: { cert: string; key: string }): TlsClient => ({
    ca: pki.ca.cert,
    ...(pair ? { cert: pair.cert, key: pair.key } : {}),
  });
  const stage = (name: string, machineId: string, tls: TlsClient, address?: string) =>
    postJson(
      `${server().base}/santa/${name}/${machineId}`,
      name === 'preflight' ? { serial_num: `SERIAL-${machineId}` } : {},
      {},
      address,
      tls,
    );

  it('refuses a missing or self-made certificate with a reason', async () => {
    const none = await stage('preflight', 'mac-a', as());
    expect(none.status).toBe(401);
    expect(none.body.error).toMatch(/requires a client certificate for Santa sync/);
    const selfMade = await stage('preflight', 'mac-a', as(pki.selfMade('mac-a')));
    expect(selfMade.status).toBe(401);
    expect(selfMade.body.error).toMatch(/not issued by the CA this server trusts/);
    expect(await server().repos.machines.get('mac-a')).toBeUndefined();
  });

  it("binds a machine to its certificate; refuses another machine's or another certificate", async () => {
    const macA = pki.client('mac-a');
    expect((await stage('preflight', 'mac-a', as(macA))).status).toBe(200);
    const machine = await server().repos.machines.get('mac-a');
    expect(machine).toMatchObject({ identity: 'fleet', cert_subject: 'CN=mac-a' });
    expect(machine!.cert_fingerprint).toMatch(/^[0-9a-f]{64}$/);
    // The certificate ties the later stages to the machine, from any address.
    expect((await stage('ruledownload', 'mac-a', as(macA), '127.0.0.2')).status).toBe(200);

    const stolen = await stage('preflight', 'mac-b', as(macA));
    expect(stolen.status).toBe(403);
    expect(stolen.body.error).toMatch(/bound to machine mac-a; each machine needs its own/);
    const other = await stage('preflight', 'mac-a', as(pki.client('mac-other')));
    expect(other.status).toBe(403);
    expect(other.body.error).toMatch(
      /bound to another client certificate; recorded as enrollment conflict \d+/,
    );
    // The fleet credential without the certificate does not stand in for it.
    const secretOnly = await postJson(
      `${server().base}/santa/preflight/mac-a`,
      { serial_num: 'SERIAL-mac-a' },
      { authorization: 'Bearer mtls-secret' },
      undefined,
      as(),
    );
    expect(secretOnly.status).toBe(401);
    expect((await stage('preflight', 'mac-a', as(macA))).status).toBe(200);
  });

  it('lets a Gatehouse agent sync with its own token and no certificate', async () => {
    const enrolled = await postJson(
      `${server().base}/api/v1/enroll`,
      { enrollment_secret: 'mtls-secret', machine_id: 'agent-tls', enrollment_key: 'k'.repeat(40) },
      {},
      undefined,
      as(),
    );
    expect(enrolled.status).toBe(200);
    const synced = await postJson(
      `${server().base}/santa/preflight/agent-tls`,
      {},
      { authorization: `Bearer ${enrolled.body.token as string}` },
      undefined,
      as(),
    );
    expect(synced.status).toBe(200);
  });

  it('leaves the console to browsers without a certificate', async () => {
    const login = await postJson(`${server().base}/console/api/login`, {}, {}, undefined, as());
    expect(login.status).toBe(400);
  });
});

describe('optional client certificates', () => {
  const server = tlsServer('sqlite', 'optional-secret', () => ({
    ...serverFiles(),
    GATEHOUSE_TLS_CLIENT_CA: pki.ca.certFile,
  }));

  it("does not let another machine's certificate stand in for a machine bound by its serial", async () => {
    const fleet = {
      authorization: 'Bearer optional-secret',
      'x-xsrf-token': 'optional-sync-token',
    };
    const trust = { ca: pki.ca.cert };
    const url = (stage: string, id: string) => `${server().base}/santa/${stage}/${id}`;
    const serialOnly = await postJson(
      url('preflight', 'mac-s'),
      { serial_num: 'S' },
      fleet,
      undefined,
      trust,
    );
    expect(serialOnly.status).toBe(200);
    expect((await server().repos.machines.get('mac-s'))!.cert_fingerprint).toBeNull();
    const own = pki.client('mac-own');
    const tls = { ...trust, cert: own.cert, key: own.key };
    expect(
      (await postJson(url('preflight', 'mac-own'), { serial_num: 'O' }, fleet, undefined, tls))
        .status,
    ).toBe(200);
    const borrowed = await postJson(url('ruledownload', 'mac-s'), {}, fleet, '127.0.0.2', tls);
    expect(borrowed.status).toBe(403);
    expect(borrowed.body.error).toMatch(/last ran a preflight from another address/);
  });
});

describe('a TLS-terminating proxy that passes on client certificates', () => {
  const server = tlsServer('sqlite', 'proxy-secret', () => ({
    GATEHOUSE_TRUSTED_PROXIES: '127.0.0.1',
    GATEHOUSE_TLS_CLIENT_CA: pki.ca.certFile,
    GATEHOUSE_TLS_CLIENT_CERTS: 'required',
  }));

  const preflight = (machineId: string, cert: string, from: string) =>
    postJson(
      `${server().base}/santa/preflight/${machineId}`,
      { serial_num: `S-${machineId}` },
      // nginx: proxy_set_header X-Client-Cert $ssl_client_escaped_cert;
      { 'x-client-cert': encodeURIComponent(cert), 'x-forwarded-for': '198.51.100.9' },
      from,
    );

  it('takes the certificate and client address only from the trusted proxy, and checks the issuer', async () => {
    const mac = pki.client('mac-behind-proxy');
    const direct = await preflight('mac-p', mac.cert, '127.0.0.2');
    expect(direct.status).toBe(401);
    expect(direct.body.error).toMatch(/requires a client certificate/);
    const selfMade = await preflight('mac-p', pki.selfMade('mac-p').cert, '127.0.0.1');
    expect(selfMade.status).toBe(401);
    expect(selfMade.body.error).toMatch(/not issued by the CA this server trusts/);
    expect((await preflight('mac-p', mac.cert, '127.0.0.1')).status).toBe(200);
    expect(await server().repos.machines.get('mac-p')).toMatchObject({
      cert_subject: 'CN=mac-behind-proxy',
      sync_address: '198.51.100.9',
    });
  });
});
