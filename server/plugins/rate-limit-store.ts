// A store for @fastify/rate-limit whose counts live in the database (db/limits.ts), so that every
// server process on one PostgreSQL shares them; each attempt is one atomic upsert.
import type { FastifyRateLimitStore } from '@fastify/rate-limit';
import type { Db } from '../db/connect';
import { countUp } from '../db/limits';

/** The store class @fastify/rate-limit's `store` option takes, counting in `db`. */
export function databaseStore(db: Db): new () => FastifyRateLimitStore {
  return class DatabaseStore implements FastifyRateLimitStore {
    incr(
      key: string,
      done: (error: Error | null, result?: { current: number; ttl: number }) => void,
      timeWindow: number,
    ): void {
      countUp(db, key, timeWindow).then(
        (result) => done(null, result),
        (error: Error) => done(error),
      );
    }
    child(): FastifyRateLimitStore {
      return this;
    }
  };
}
