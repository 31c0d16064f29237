// Failed console logins, limited per address (20: one address guessing many accounts), per
// address and account pair (5) and per account (50: many addresses guessing one, without letting
// one address lock an account out), each over 15 minutes. @fastify/rate-limit decides; the
// counts live in the database (db/limits.ts), so that every server process on one PostgreSQL
// shares them, and each is taken with one atomic upsert before the password is checked:
// parallel guesses cannot all pass the check at once. A successful login gives its attempt
// back, so only failures add up.
//
// Bounded: the address is counted first, and an address over its limit adds no pair or account
// row, so one address holds at most 41 rows a window. Every minute this plugin deletes the
// counts (of any limit) an hour past their window's start, the longest window there is.
// Usernames and passwords have a length limit in the schema (schemas/console.ts), checked
// before any of this.
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { countDown, pruneCounts, type LimitName } from '../db/limits';
import { databaseStore } from './rate-limit-store';

const WINDOW_MS = 15 * 60_000;
const PRUNE_EVERY_MS = 60_000;

/** The address limit: attempts from one address in a window. */
const ADDRESS_MAX = 20;
/** Addresses this process remembers at most (the least recently seen go first). */
const LOCAL_CAP = 10_000;

/**
 * This process's own count of each address's attempts, taken before the database's: the
 * database counts every process's attempts, so it holds at least as many, and an address this
 * process has already seen over the limit is refused without a query. A flood from one address
 * then costs the database ADDRESS_MAX upserts, not one per attempt queued on the same row
 * (which held the pool's connections and stalled sync). Forgetting an address (past LOCAL_CAP)
 * only sends it back to the database's count.
 */
class LocalAddressCounts {
  readonly #counts = new Map<string, { count: number; since: number }>();

  /** Counts an attempt; the seconds to wait when this process alone has seen too many. */
  over(address: string, now = Date.now()): number | undefined {
    let entry = this.#counts.get(address);
    if (!entry || now - entry.since >= WINDOW_MS) entry = { count: 0, since: now };
    entry.count++;
    this.#counts.delete(address); // re-inserted last: Map order is the eviction order
    this.#counts.set(address, entry);
    if (this.#counts.size > LOCAL_CAP) this.#counts.delete(this.#counts.keys().next().value!);
    if (entry.count <= ADDRESS_MAX) return undefined;
    return Math.max(1, Math.ceil((WINDOW_MS - (now - entry.since)) / 1000));
  }

  giveBack(address: string): void {
    const entry = this.#counts.get(address);
    if (entry && entry.count > 0) entry.count--;
  }
}

/** Deletes the counts whose window has passed, every minute while the server runs. */
function pruneAttempts(app: FastifyInstance): void {
  const timer = setInterval(() => {
    pruneCounts(app.db).catch((error: Error) =>
      app.log.warn(`login limit: pruning failed: ${error.message}`),
    );
  }, PRUNE_EVERY_MS);
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));
}

export interface LoginRefusal {
  /** Seconds until the limit that refused lets this caller try again. */
  readonly retryAfterS: number;
}

export interface LoginLimiter {
  /** Counts this attempt; a refusal when it is over a limit and must be refused. */
  refuse(request: FastifyRequest, account: string): Promise<LoginRefusal | undefined>;
  /** A successful login: its attempt does not count, and its pair starts again from 0. */
  succeeded(request: FastifyRequest, account: string): Promise<void>;
}

const keys = (request: FastifyRequest, account: string) => ({
  pair: `pair:${request.ip}|${account.toLowerCase()}`,
  address: `address:${request.ip}`,
  account: `account:${account.toLowerCase()}`,
});

type Part = keyof ReturnType<typeof keys>;

/** Registers @fastify/rate-limit in `app`'s scope (no route is limited unless it asks). */
export async function loginLimiter(app: FastifyInstance): Promise<LoginLimiter> {
  const db = app.db;
  await app.register(rateLimit, { global: false, store: databaseStore(db), timeWindow: WINDOW_MS });
  pruneAttempts(app);
  const accountOf = new WeakMap<FastifyRequest, string>();
  const limit = (max: number, part: Part) => ({
    part,
    check: app.createRateLimit({
      max,
      timeWindow: WINDOW_MS,
      keyGenerator: (request) => keys(request, accountOf.get(request) ?? '')[part],
    }),
  });
  const address = limit(ADDRESS_MAX, 'address');
  const local = new LocalAddressCounts();
  const others = [limit(5, 'pair'), limit(50, 'account')];
  const over = async (request: FastifyRequest, checks: (typeof others)[number][]) => {
    const results = await Promise.all(checks.map(({ check }) => check(request)));
    const index = results.findIndex((result) => !result.isAllowed && result.isExceeded);
    if (index < 0) return undefined;
    const result = results[index]!;
    app.limitHit(`login_${checks[index]!.part}` as LimitName);
    return { retryAfterS: result.isAllowed ? 1 : Math.max(1, result.ttlInSeconds) };
  };
  return {
    async refuse(request, account) {
      accountOf.set(request, account);
      const waitS = local.over(request.ip);
      if (waitS !== undefined) {
        app.limitHit('login_address');
        return { retryAfterS: waitS };
      }
      return (await over(request, [address])) ?? (await over(request, others));
    },
    async succeeded(request, account) {
      const key = keys(request, account);
      local.giveBack(request.ip);
      await Promise.all([
        countDown(db, key.pair, true),
        countDown(db, key.address, false),
        countDown(db, key.account, false),
      ]);
    },
  };
}
