// HTTPS from the environment: the server's certificate and key (PEM files), and optionally the
// CA whose client certificates machines present (mTLS). Santa refuses plain HTTP except to
// loopback, so a fleet needs either this or a reverse proxy that terminates TLS; such a proxy,
// when its address is trusted, may pass on the client certificate it verified (server/README).
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ServerOptions } from 'node:https';
import type { ClientCertificates, TrustedProxy } from './plugins/enrollment';

export interface TlsSettings {
  readonly https?: ServerOptions;
  readonly clientCertificates: ClientCertificates;
  readonly trustedProxy?: TrustedProxy;
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

function clientMode(env: NodeJS.ProcessEnv): ClientCertificates {
  const mode = env.GATEHOUSE_TLS_CLIENT_CERTS;
  if (mode !== undefined && mode !== 'optional' && mode !== 'required')
    throw new Error(
      `server: GATEHOUSE_TLS_CLIENT_CERTS must be optional or required, got "${mode}"`,
    );
  if (mode && !env.GATEHOUSE_TLS_CLIENT_CA)
    throw new Error(
      'server: GATEHOUSE_TLS_CLIENT_CERTS needs GATEHOUSE_TLS_CLIENT_CA, the CA that issues them',
    );
  return env.GATEHOUSE_TLS_CLIENT_CA ? (mode ?? 'optional') : 'off';
}

function proxiesOf(env: NodeJS.ProcessEnv): string[] | undefined {
  const list = env.GATEHOUSE_TRUSTED_PROXIES;
  if (!list) return undefined;
  const addresses = list.split(',').map((address) => address.trim());
  const bad = addresses.find((address) => isIP(address) === 0);
  if (bad !== undefined)
    throw new Error(
      `server: GATEHOUSE_TRUSTED_PROXIES is a comma-separated list of IP addresses, got "${bad}"`,
    );
  return addresses;
}

/** The TLS settings GATEHOUSE_TLS_* and GATEHOUSE_TRUSTED_PROXIES ask for; undefined: plain HTTP. */
export function tlsFromEnv(env: NodeJS.ProcessEnv): TlsSettings | undefined {
  const { GATEHOUSE_TLS_CERT: cert, GATEHOUSE_TLS_KEY: key } = env;
  const proxies = proxiesOf(env);
  const clientCertificates = clientMode(env);
  if (!cert && !key) {
    if (!proxies) {
      if (clientCertificates !== 'off')
        throw new Error(
          'server: GATEHOUSE_TLS_CLIENT_CA and GATEHOUSE_TLS_CLIENT_CERTS need HTTPS (GATEHOUSE_TLS_CERT and GATEHOUSE_TLS_KEY) or a proxy that passes certificates on (GATEHOUSE_TRUSTED_PROXIES)',
        );
      return undefined;
    }
    const clientCa = clientCertificates === 'off' ? undefined : pem(env, 'GATEHOUSE_TLS_CLIENT_CA');
    return {
      clientCertificates,
      trustedProxy: { addresses: proxies, ...(clientCa ? { clientCa } : {}) },
    };
  }
  if (!cert || !key)
    throw new Error('server: GATEHOUSE_TLS_CERT and GATEHOUSE_TLS_KEY go together: set both');
  if (proxies)
    throw new Error(
      'server: GATEHOUSE_TRUSTED_PROXIES is for a proxy that terminates TLS; the server terminates it itself here (GATEHOUSE_TLS_CERT): set one or the other',
    );
  const https: ServerOptions = {
    cert: pem(env, 'GATEHOUSE_TLS_CERT'),
    key: pem(env, 'GATEHOUSE_TLS_KEY'),
    minVersion: 'TLSv1.2',
  };
  if (clientCertificates === 'off') return { https, clientCertificates };
  return {
    // Asked for, checked against the CA, but not demanded by the handshake: the console's
    // browsers have none, and a machine without one gets a 401 that says what is missing.
    https: {
      ...https,
      ca: pem(env, 'GATEHOUSE_TLS_CLIENT_CA'),
      requestCert: true,
      rejectUnauthorized: false,
    },
    clientCertificates,
  };
}
