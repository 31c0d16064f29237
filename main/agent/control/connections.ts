// What the control socket may cost the service. Every connection holds a descriptor of the
// process whose fanotify group needs one for each exec it decides, and every reply waits in its
// memory until the peer reads it; so connections are counted per user, users other than root
// share a cap, and root's connections are counted apart so that no one else's load refuses root.
import {
  REFUSALS,
  type ConnectionCounts,
  type ConnectionLimits,
  type Refusal,
} from '../../../common/control';

export type { ConnectionCounts, ConnectionLimits, Refusal };

/**
 * Descriptors: 16 a user, 128 for all users but root, 64 for root and 64 refused ones waiting
 * for their peer: 256 at most for the socket, against a limit of thousands (the service raises
 * its soft limit to the hard one at start: 524288 under systemd's defaults, 20000 on the test
 * machine) of which the exec path may need 4,608. Memory: at most 1 MiB of unread replies a
 * connection, so 16 MiB for one user, 208 MiB if every slot of every user were full.
 */
export const CONNECTION_LIMITS: ConnectionLimits = {
  perUser: 16,
  unprivileged: 128,
  root: 64,
  idleMs: 60_000,
  pauseBytes: 64 * 1024,
  dropBytes: 1024 * 1024,
  lingering: 64,
};

/** The most descriptors the control socket can hold at once with these limits. */
export function socketDescriptors(limits: ConnectionLimits = CONNECTION_LIMITS): number {
  return limits.root + limits.unprivileged + limits.lingering + 1; // + the listening socket
}

export class ConnectionBudget {
  readonly limits: ConnectionLimits;
  readonly #perUser = new Map<number, number>();
  #root = 0;
  #others = 0;
  readonly #refused = Object.fromEntries(REFUSALS.map((kind) => [kind, 0])) as Record<
    Refusal,
    number
  >;

  constructor(limits: Partial<ConnectionLimits> = {}) {
    this.limits = { ...CONNECTION_LIMITS, ...limits };
  }

  /** Takes a slot for this user; or counts the refusal and says why, for the client to read. */
  admit(uid: number): string | undefined {
    const limits = this.limits;
    if (uid === 0) {
      if (this.#root >= limits.root) {
        this.#refused.root++;
        return `too many connections: root has ${this.#root} open to the Gatehouse service, the limit for root is ${limits.root}; close some and try again`;
      }
      this.#root++;
      return undefined;
    }
    const mine = this.#perUser.get(uid) ?? 0;
    if (mine >= limits.perUser) {
      this.#refused.perUser++;
      return `too many connections: uid ${uid} has ${mine} open to the Gatehouse service, the limit for one user is ${limits.perUser}; close some (gatehousectl, the menu bar) and try again`;
    }
    if (this.#others >= limits.unprivileged) {
      this.#refused.unprivileged++;
      return `too many connections: users other than root have ${this.#others} open to the Gatehouse service, the limit is ${limits.unprivileged}; try again later`;
    }
    this.#perUser.set(uid, mine + 1);
    this.#others++;
    return undefined;
  }

  release(uid: number): void {
    if (uid === 0) {
      this.#root--;
      return;
    }
    const mine = (this.#perUser.get(uid) ?? 1) - 1;
    if (mine > 0) this.#perUser.set(uid, mine);
    else this.#perUser.delete(uid);
    this.#others--;
  }

  count(kind: Refusal): void {
    this.#refused[kind]++;
  }

  counts(paused: number): ConnectionCounts {
    return {
      connections: { root: this.#root, others: this.#others },
      refused: { ...this.#refused },
      paused,
    };
  }
}
