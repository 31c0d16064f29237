// Failed console logins, limited per address and account pair (5), per address (20: one address
// guessing many accounts) and per account (50: many addresses guessing one, without letting one
// address lock an account out), each over 15 minutes. @fastify/rate-limit counts; this store
// keeps the counts. Every attempt is counted before its password is checked, so parallel
// guesses cannot all pass the check at once; a successful login gives its attempt back, so only
// failures add up. The store holds at most STORE_CAP keys, the least recently used go first.
import rateLimit, { type FastifyRateLimitStore } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';

const WINDOW_MS = 15 * 60_000;
const STORE_CAP = 10_000;

interface Count {
  current: number;
  since: number;
}

class BoundedCounts {
  readonly #counts = new Map<string, Count>();

  incr(key: string, timeWindow: number): { current: number; ttl: number } {
    const now = Date.now();
    let count = this.#counts.get(key);
    if (!count || now - count.since >= timeWindow) count = { current: 0, since: now };
    count.current++;
    this.#counts.delete(key); // re-inserted last: Map order is the eviction order
    this.#counts.set(key, count);
    if (this.#counts.size > STORE_CAP) this.#counts.delete(this.#counts.keys().next().value!);
    return { current: count.current, ttl: timeWindow - (now - count.since) };
  }

  giveBack(key: string, all: boolean): void {
    const count = this.#counts.get(key);
    if (!count) return;
    if (all || count.current <= 1) this.#counts.delete(key);
    else count.current--;
  }
}

export interface LoginLimiter {
  /** Counts this attempt; true when it is over a limit and must be refused. */
  refuse(request: FastifyRequest, account: string): Promise<boolean>;
  /** A successful login: its attempt does not count, and its pair starts again from 0. */
  succeeded(request: FastifyRequest, account: string): void;
}

const keys = (request: FastifyRequest, account: string) => ({
  pair: `pair:${request.ip}|${account.toLowerCase()}`,
  address: `address:${request.ip}`,
  account: `account:${account.toLowerCase()}`,
});

/** Registers @fastify/rate-limit in `app`'s scope (no route is limited unless it asks). */
export async function loginLimiter(app: FastifyInstance): Promise<LoginLimiter> {
  const counts = new BoundedCounts();
  class Store implements FastifyRateLimitStore {
    incr(
      key: string,
      done: (error: Error | null, result?: { current: number; ttl: number }) => void,
      timeWindow: number,
    ): void {
      done(null, counts.incr(key, timeWindow));
    }
    child(): FastifyRateLimitStore {
      return this;
    }
  }
  await app.register(rateLimit, { global: false, store: Store, timeWindow: WINDOW_MS });
  const accountOf = new WeakMap<FastifyRequest, string>();
  const limit = (max: number, part: keyof ReturnType<typeof keys>) =>
    app.createRateLimit({
      max,
      timeWindow: WINDOW_MS,
      keyGenerator: (request) => keys(request, accountOf.get(request) ?? '')[part],
    });
  const limits = [limit(5, 'pair'), limit(20, 'address'), limit(50, 'account')];
  return {
    async refuse(request, account) {
      accountOf.set(request, account);
      const results = await Promise.all(limits.map((check) => check(request)));
      return results.some((result) => !result.isAllowed && result.isExceeded);
    },
    succeeded(request, account) {
      const key = keys(request, account);
      counts.giveBack(key.pair, true);
      counts.giveBack(key.address, false);
      counts.giveBack(key.account, false);
    },
  };
}
