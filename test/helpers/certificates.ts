// Certificates made at test time with openssl (EC P-256, valid two days): a CA, a server
// certificate for 127.0.0.1 and client certificates it issues, and a self-made client
// certificate no CA vouches for. Each is PEM text, with its file beside it for the server's env.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './files';

export interface Pair {
  readonly cert: string;
  readonly key: string;
  readonly certFile: string;
  readonly keyFile: string;
}

export interface TestPki {
  readonly ca: Pair;
  readonly server: Pair;
  /** A client certificate the CA issues, with this common name. */
  client(name: string): Pair;
  /** A client certificate that signs itself. */
  selfMade(name: string): Pair;
  remove(): void;
}

const openssl = (cwd: string, ...args: string[]) =>
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function makeTestPki(): TestPki {
  const dir = tempDir('pki');
  const pair = (name: string): Pair => ({
    cert: readFileSync(join(dir.dir, `${name}.pem`), 'utf8'),
    key: readFileSync(join(dir.dir, `${name}.key`), 'utf8'),
    certFile: join(dir.dir, `${name}.pem`),
    keyFile: join(dir.dir, `${name}.key`),
  });
  /**
   * A key and certificate for this subject: signed by the CA with these extensions, or by itself
   * when `extensions` is absent.
   */
  const make = (name: string, subject: string, extensions?: string) => {
    const key = ['req', ...EC, '-keyout', `${name}.key`, '-subj', subject];
    if (extensions === undefined) {
      openssl(dir.dir, ...key, '-x509', '-days', '2', '-out', `${name}.pem`);
      return pair(name);
    }
    writeFileSync(join(dir.dir, `${name}.ext`), extensions);
    openssl(dir.dir, ...key, '-out', `${name}.csr`);
    const ca = ['-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'];
    const x509 = ['x509', '-req', '-in', `${name}.csr`, ...ca, '-days', '2'];
    openssl(dir.dir, ...x509, '-extfile', `${name}.ext`, '-out', `${name}.pem`);
    return pair(name);
  };
  const ca = make('ca', '/CN=Gatehouse Test CA');
  const server = make(
    'server',
    '/CN=127.0.0.1',
    'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n',
  );
  return {
    ca,
    server,
    client: (name) => make(`client-${name}`, `/CN=${name}`, 'extendedKeyUsage=clientAuth\n'),
    selfMade: (name) => make(`self-${name}`, `/CN=${name}`),
    remove: () => dir.remove(),
  };
}
