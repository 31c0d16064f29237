// HTTPS from the environment: the server's certificate and key (PEM files), and optionally the
// CA whose client certificates machines present (mTLS). Santa refuses plain HTTP except to
// loopback, so a fleet needs either this or a reverse proxy that terminates TLS (server/README).
import { readFileSync } from 'node:fs';
import type { ServerOptions } from 'node:https';
import type { ClientCertificates } from './plugins/enrollment';

export interface TlsSettings {
  readonly https: ServerOptions;
  readonly clientCertificates: ClientCertificates;
}

function pem(env: NodeJS.ProcessEnv, key: string): Buffer {
  const path = env[key]!;
  try {
    return readFileSync(path);
  } catch (error) {
    throw new Error(
      `server: ${key} names a PEM file that cannot be read: ${path} (${(error as Error).message})`,
      { cause: error },
    );
  }
}

/** The TLS settings GATEHOUSE_TLS_* ask for, or undefined for plain HTTP. */
export function tlsFromEnv(env: NodeJS.ProcessEnv): TlsSettings | undefined {
  const { GATEHOUSE_TLS_CERT: cert, GATEHOUSE_TLS_KEY: key } = env;
  const clientCa = env.GATEHOUSE_TLS_CLIENT_CA;
  const mode = env.GATEHOUSE_TLS_CLIENT_CERTS;
  if (!cert && !key) {
    if (clientCa || mode)
      throw new Error(
        'server: GATEHOUSE_TLS_CLIENT_CA and GATEHOUSE_TLS_CLIENT_CERTS need HTTPS: set GATEHOUSE_TLS_CERT and GATEHOUSE_TLS_KEY too',
      );
    return undefined;
  }
  if (!cert || !key)
    throw new Error('server: GATEHOUSE_TLS_CERT and GATEHOUSE_TLS_KEY go together: set both');
  if (mode !== undefined && mode !== 'optional' && mode !== 'required')
    throw new Error(
      `server: GATEHOUSE_TLS_CLIENT_CERTS must be optional or required, got "${mode}"`,
    );
  if (mode && !clientCa)
    throw new Error(
      'server: GATEHOUSE_TLS_CLIENT_CERTS needs GATEHOUSE_TLS_CLIENT_CA, the CA that issues them',
    );
  const https: ServerOptions = {
    cert: pem(env, 'GATEHOUSE_TLS_CERT'),
    key: pem(env, 'GATEHOUSE_TLS_KEY'),
    minVersion: 'TLSv1.2',
  };
  if (!clientCa) return { https, clientCertificates: 'off' };
  return {
    // Asked for, checked against the CA, but not demanded by the handshake: the console's
    // browsers have none, and a machine without one gets a 401 that says what is missing.
    https: {
      ...https,
      ca: pem(env, 'GATEHOUSE_TLS_CLIENT_CA'),
      requestCert: true,
      rejectUnauthorized: false,
    },
    clientCertificates: mode ?? 'optional',
  };
}
