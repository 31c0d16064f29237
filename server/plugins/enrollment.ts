// What enrollment and the fleet credential share, as one decoration (app.enrollment): the
// identity repository, the fleet secret's check, the client certificate a request came with,
// and the throttle every enrollment attempt passes (per address and in all, through
// @fastify/rate-limit with its counts in the database, so that every server process shares
// them; each limit hit is counted in /metrics).
import { timingSafeEqual } from 'node:crypto';
import { TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { EnrollmentRepository, type Certificate } from '../db/enrollment';
import type { LimitName } from '../db/limits';
import { databaseStore } from './rate-limit-store';

export interface EnrollLimits {
  /** Attempts per address in each window (enrollments, first contacts, refusals). */
  readonly perAddress: number;
  /** Attempts from all addresses together in each window. */
  readonly inAll: number;
  readonly windowMs: number;
}

export const DEFAULT_ENROLL_LIMITS: EnrollLimits = {
  perAddress: 30,
  inAll: 600,
  windowMs: 60_000,
};

/** off: no certificate asked for; optional: used when sent; required: every Santa sync needs one. */
export type ClientCertificates = 'off' | 'optional' | 'required';

/** A reverse proxy that terminates TLS and passes on the client certificate it verified. */
export interface TrustedProxy {
  /** The proxies' own addresses: only their requests may carry X-Client-Cert. */
  readonly addresses: readonly string[];
  /** The CA that issues machines' certificates; the server checks the passed certificate too. */
  readonly clientCa?: Buffer;
}

/** nginx's $ssl_client_escaped_cert: the PEM certificate, URL-encoded. */
export const CLIENT_CERT_HEADER = 'x-client-cert';

export interface EnrollmentOptions {
  readonly secret: string;
  readonly limits?: EnrollLimits | undefined;
  readonly maxMachines?: number | undefined;
  readonly clientCertificates?: ClientCertificates | undefined;
  readonly trustedProxy?: TrustedProxy | undefined;
}

/** The certificate a request's TLS connection presented, and whether the configured CA issued it. */
export type PresentedCertificate =
  | { readonly state: 'none' }
  | { readonly state: 'refused'; readonly why: string }
  | ({ readonly state: 'accepted' } & Certificate);

export interface Enrollment {
  readonly repo: EnrollmentRepository;
  readonly clientCertificates: ClientCertificates;
  /** True when `given` is the fleet's enrollment secret (constant time). */
  isFleetSecret(given: string): boolean;
  /** Counts one enrollment attempt; the seconds to wait when it is over a limit. */
  throttle(request: FastifyRequest): Promise<number | undefined>;
  certificateOf(request: FastifyRequest): PresentedCertificate;
}

declare module 'fastify' {
  interface FastifyInstance {
    readonly enrollment: Enrollment;
  }
}

const hex = (fingerprint: string) => fingerprint.replaceAll(':', '').toLowerCase();

function fromTls(socket: TLSSocket): PresentedCertificate {
  const peer = socket.getPeerCertificate();
  if (!peer || !peer.fingerprint256) return { state: 'none' };
  if (!socket.authorized)
    return {
      state: 'refused',
      why: `the client certificate was not issued by the CA this server trusts (${String(socket.authorizationError)})`,
    };
  const subject = Object.entries(peer.subject ?? {})
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(', ');
  return { state: 'accepted', fingerprint: hex(peer.fingerprint256), subject };
}

/** The certificate a trusted proxy verified and passed on; the server checks its issuer again. */
function fromProxy(request: FastifyRequest, proxy: TrustedProxy): PresentedCertificate {
  const peer = (request.raw.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  const header = request.headers[CLIENT_CERT_HEADER];
  // From anyone else the header is only a claim: it is not read.
  if (!proxy.addresses.includes(peer) || typeof header !== 'string' || !header || !proxy.clientCa)
    return { state: 'none' };
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(decodeURIComponent(header));
  } catch {
    return { state: 'refused', why: 'the proxy passed on a client certificate that is not PEM' };
  }
  const ca = new X509Certificate(proxy.clientCa);
  const now = Date.now();
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey))
    return {
      state: 'refused',
      why: 'the client certificate was not issued by the CA this server trusts',
    };
  if (Date.parse(cert.validFrom) > now || Date.parse(cert.validTo) < now)
    return { state: 'refused', why: 'the client certificate has expired or is not valid yet' };
  return {
    state: 'accepted',
    fingerprint: hex(cert.fingerprint256),
    subject: cert.subject.split('\n').join(', '),
  };
}

/** The certificate behind a request: its own TLS connection's, or one a trusted proxy passed. */
export function certificateOf(request: FastifyRequest, proxy?: TrustedProxy): PresentedCertificate {
  const socket = request.raw.socket;
  if (socket instanceof TLSSocket) return fromTls(socket);
  return proxy ? fromProxy(request, proxy) : { state: 'none' };
}

/**
 * Counts each attempt per address and in all; the seconds to wait when either is over its limit.
 * The counts live in the database (db/limits.ts), shared by every server process and pruned
 * with the other limits' counts.
 */
async function throttleOf(app: FastifyInstance, limits: EnrollLimits) {
  const checks: [LimitName, ReturnType<FastifyInstance['createRateLimit']>][] = [];
  await app.register(async (scope) => {
    await scope.register(rateLimit, {
      global: false,
      store: databaseStore(app.db),
      timeWindow: limits.windowMs,
    });
    const limit = (max: number, key: (request: FastifyRequest) => string) =>
      scope.createRateLimit({ max, timeWindow: limits.windowMs, keyGenerator: key });
    checks.push(
      ['enroll_address', limit(limits.perAddress, (request) => `enroll-address:${request.ip}`)],
      ['enroll_all', limit(limits.inAll, () => 'enroll-all')],
    );
  });
  return async (request: FastifyRequest) => {
    let wait = 0;
    for (const [name, check] of checks) {
      const result = await check(request);
      if (result.isAllowed || !result.isExceeded) continue;
      app.limitHit(name);
      wait = Math.max(wait, result.ttlInSeconds, 1);
    }
    return wait || undefined;
  };
}

export const enrollment = fp<EnrollmentOptions>(
  async (app, options) => {
    const secret = Buffer.from(options.secret);
    const throttle = await throttleOf(app, options.limits ?? DEFAULT_ENROLL_LIMITS);
    app.decorate('enrollment', {
      repo: new EnrollmentRepository(app.db, app.repos.push, options.maxMachines),
      clientCertificates: options.clientCertificates ?? 'off',
      isFleetSecret(given: string) {
        const bytes = Buffer.from(given);
        return bytes.length === secret.length && timingSafeEqual(bytes, secret);
      },
      throttle,
      certificateOf: (request) => certificateOf(request, options.trustedProxy),
    } satisfies Enrollment);
  },
  { name: 'enrollment', dependencies: ['repositories', 'metrics'] },
);
