// The rule store: every rule the agent holds, kept in step with the native rule table.
import { createHash } from 'node:crypto';
import { canonicalIdentifier } from '../../../common/policy';
import {
  RULE_TYPES,
  type Policy,
  type RuleChange,
  type RuleIdentity,
  type RuleType,
} from '../../../common/rules';
import { POLICY_CODES, type BinaryRuleChunk } from '../../../native/index';
import type { StaticRule } from '../config/config';
import type { Db } from './database';

export type RuleSource = 'static' | 'sync' | 'local';

export interface StoredRule extends RuleIdentity {
  readonly customMsg?: string | null;
  readonly customUrl?: string | null;
  readonly comment?: string | null;
  readonly source: RuleSource;
  readonly expiresAt?: number | null;
}

/** A put (policy) or a removal (REMOVE) with the rule's details. */
export interface StoreChange {
  readonly type: RuleType;
  readonly identifier: string;
  readonly policy: Policy | 'REMOVE';
  readonly customMsg?: string | null;
  readonly customUrl?: string | null;
  readonly comment?: string | null;
  readonly expiresAt?: number | null;
}

export type RuleListener = (delta: RuleChange[]) => void;

interface Row {
  rule_type: RuleType;
  identifier: string;
  policy: Policy;
  custom_msg: string | null;
  custom_url: string | null;
  comment: string | null;
  source: 'sync' | 'local';
  expires_at: number | null;
}

const key = (type: RuleType, identifier: string) => `${type}:${identifier}`;

export class RuleStore {
  readonly #db: Db;
  #static = new Map<string, StaticRule>();
  readonly #listeners = new Set<RuleListener>();
  #hash: string | undefined;

  constructor(db: Db, staticRules: readonly StaticRule[] = []) {
    this.#db = db;
    this.setStaticRules(staticRules);
  }

  onChange(listener: RuleListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Static rules come from the config and win over synced and local rules for the same target. */
  setStaticRules(rules: readonly StaticRule[]): void {
    const before = this.#static;
    this.#static = new Map(rules.map((rule) => [key(rule.type, rule.identifier), rule]));
    const touched = new Set([...before.keys(), ...this.#static.keys()]);
    if (this.#listeners.size > 0 && touched.size > 0) this.#emit([...touched]);
  }

  /** Applies every change in one transaction: after a crash the set is all old or all new. */
  apply(
    changes: readonly StoreChange[],
    source: 'sync' | 'local',
    now = Date.now(),
  ): { put: number; removed: number } {
    // Only the last change to a target counts. Applied in key order, so that the B-tree is
    // appended to rather than split at random (a million rules: ~2 s instead of ~14 s), sorted
    // with the engine's own string sort rather than a comparator (~4x faster).
    const byType = new Map<RuleType, Map<string, StoreChange>>();
    for (const change of changes) {
      let targets = byType.get(change.type);
      if (!targets) byType.set(change.type, (targets = new Map()));
      targets.set(canonicalIdentifier(change.type, change.identifier), change);
    }
    const prepared: { change: StoreChange; identifier: string }[] = [];
    for (const type of [...byType.keys()].sort()) {
      const targets = byType.get(type)!;
      for (const identifier of [...targets.keys()].sort())
        prepared.push({ change: targets.get(identifier)!, identifier });
    }
    const remove = this.#db.prepare('DELETE FROM rules WHERE rule_type = ? AND identifier = ?');
    const insertSql = (rows: number) =>
      `INSERT INTO rules (rule_type, identifier, policy, custom_msg, custom_url, comment, source, expires_at, created_at)
       VALUES ${Array(rows).fill('(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}
       ON CONFLICT (rule_type, identifier) DO UPDATE SET policy = excluded.policy, custom_msg = excluded.custom_msg,
         custom_url = excluded.custom_url, comment = excluded.comment, source = excluded.source,
         expires_at = excluded.expires_at`;
    const BATCH = 100;
    const insertBatch = this.#db.prepare(insertSql(BATCH));
    const insertOne = this.#db.prepare(insertSql(1));
    const touched: string[] = [];
    const outcome = new Map<string, Policy | 'REMOVE'>();
    const listening = this.#listeners.size > 0;
    let putCount = 0;
    let removedCount = 0;
    this.#db.transaction(() => {
      // One target per change, so a batch never names a row twice.
      let batch: unknown[] = [];
      for (const { change, identifier } of prepared) {
        if (change.policy === 'REMOVE') {
          removedCount += remove.run(change.type, identifier).changes;
        } else {
          batch.push(
            change.type,
            identifier,
            change.policy,
            change.customMsg ?? null,
            change.customUrl ?? null,
            change.comment ?? null,
            source,
            change.expiresAt ?? null,
            now,
          );
          putCount++;
          if (batch.length === BATCH * 9) {
            insertBatch.run(...batch);
            batch = [];
          }
        }
        if (listening) {
          touched.push(key(change.type, identifier));
          outcome.set(key(change.type, identifier), change.policy);
        }
      }
      for (let i = 0; i < batch.length; i += 9) insertOne.run(...batch.slice(i, i + 9));
    })();
    this.#hash = undefined;
    this.#emit(touched, outcome);
    return { put: putCount, removed: removedCount };
  }

  /** Replaces every rule of a source at once (a clean sync). */
  replace(rules: readonly StoreChange[], source: 'sync' | 'local'): void {
    const before = this.#db
      .prepare('SELECT rule_type, identifier FROM rules WHERE source = ?')
      .all(source) as Row[];
    this.#db.transaction(() => {
      this.#db.prepare('DELETE FROM rules WHERE source = ?').run(source);
      this.apply(rules, source);
    })();
    this.#hash = undefined;
    this.#emit(before.map((row) => key(row.rule_type, row.identifier)));
  }

  /** Removes expired rules; returns how many. */
  expire(now = Date.now()): number {
    const rows = this.#db
      .prepare(
        'DELETE FROM rules WHERE expires_at IS NOT NULL AND expires_at <= ? RETURNING rule_type, identifier',
      )
      .all(now) as Row[];
    if (rows.length > 0) this.#hash = undefined;
    this.#emit(rows.map((row) => key(row.rule_type, row.identifier)));
    return rows.length;
  }

  get(type: RuleType, identifier: string): StoredRule | undefined {
    const canonical = canonicalIdentifier(type, identifier);
    const fixed = this.#static.get(key(type, canonical));
    if (fixed) return { ...fixed, source: 'static' };
    const row = this.#db
      .prepare('SELECT * FROM rules WHERE rule_type = ? AND identifier = ?')
      .get(type, canonical) as Row | undefined;
    return row ? toStored(row) : undefined;
  }

  list(limit = 1000, offset = 0): StoredRule[] {
    const rows = this.#db
      .prepare('SELECT * FROM rules ORDER BY rule_type, identifier LIMIT ? OFFSET ?')
      .all(limit, offset) as Row[];
    return [
      ...[...this.#static.values()].map((rule) => ({ ...rule, source: 'static' as const })),
      ...rows.map(toStored),
    ];
  }

  /**
   * The native table in a form that costs no JavaScript object per BINARY rule: the other rules
   * (and every static one) as objects, the stored BINARY rules as chunks of hex and policy bytes.
   */
  forNative(chunkSize = 50_000): { others: RuleIdentity[]; binary: Iterable<BinaryRuleChunk> } {
    const others: RuleIdentity[] = [...this.#static.values()].map((rule) => ({
      type: rule.type,
      identifier: rule.identifier,
      policy: rule.policy,
    }));
    for (const row of this.#db
      .prepare("SELECT rule_type, identifier, policy FROM rules WHERE rule_type != 'BINARY'")
      .iterate() as IterableIterator<Row>) {
      if (!this.#static.has(key(row.rule_type, row.identifier)))
        others.push({ type: row.rule_type, identifier: row.identifier, policy: row.policy });
    }
    const db = this.#db;
    const fixed = this.#static;
    function* binary(): Generator<BinaryRuleChunk> {
      const rows = db
        .prepare("SELECT identifier, policy FROM rules WHERE rule_type = 'BINARY'")
        .raw()
        .iterate() as IterableIterator<[string, Policy]>;
      let hex: string[] = [];
      let policies = new Uint8Array(chunkSize);
      for (const [identifier, policy] of rows) {
        if (fixed.has(key('BINARY', identifier))) continue;
        policies[hex.length] = POLICY_CODES[policy];
        hex.push(identifier);
        if (hex.length === chunkSize) {
          yield { hex: hex.join(''), policies };
          hex = [];
          policies = new Uint8Array(chunkSize);
        }
      }
      if (hex.length > 0) yield { hex: hex.join(''), policies: policies.subarray(0, hex.length) };
    }
    return { others, binary: binary() };
  }

  /** What the native table holds: every stored rule, static ones winning. */
  effective(): RuleIdentity[] {
    const out: RuleIdentity[] = [];
    for (const row of this.#db
      .prepare('SELECT rule_type, identifier, policy FROM rules')
      .iterate() as IterableIterator<Row>) {
      if (!this.#static.has(key(row.rule_type, row.identifier))) {
        out.push({ type: row.rule_type, identifier: row.identifier, policy: row.policy });
      }
    }
    for (const rule of this.#static.values())
      out.push({ type: rule.type, identifier: rule.identifier, policy: rule.policy });
    return out;
  }

  counts(): Record<RuleType, number> {
    const counts = Object.fromEntries(RULE_TYPES.map((type) => [type, 0])) as Record<
      RuleType,
      number
    >;
    for (const row of this.#db
      .prepare('SELECT rule_type, count(*) AS n FROM rules GROUP BY rule_type')
      .all() as { rule_type: RuleType; n: number }[]) {
      counts[row.rule_type] = row.n;
    }
    for (const rule of this.#static.values()) counts[rule.type]++;
    return counts;
  }

  /** Order-independent digest of the rule set: the same rules give the same hash however added. */
  rulesHash(): string {
    // Every sync asks twice; with a million rules a hash is a second of work, so it is kept until
    // the stored rules change.
    if (this.#hash !== undefined) return this.#hash;
    const hash = createHash('sha256');
    for (const row of this.#db
      .prepare('SELECT rule_type, identifier, policy FROM rules ORDER BY rule_type, identifier')
      .iterate() as IterableIterator<Row>) {
      hash.update(`${row.rule_type}\t${row.identifier}\t${row.policy}\n`);
    }
    this.#hash = hash.digest('hex');
    return this.#hash;
  }

  /** Tells listeners what the effective table now says for each touched target. */
  #emit(keys: readonly string[], known?: ReadonlyMap<string, Policy | 'REMOVE'>): void {
    if (this.#listeners.size === 0 || keys.length === 0) return;
    const lookup = this.#db.prepare(
      'SELECT policy FROM rules WHERE rule_type = ? AND identifier = ?',
    );
    const delta: RuleChange[] = [];
    for (const k of new Set(keys)) {
      const separator = k.indexOf(':');
      const type = k.slice(0, separator) as RuleType;
      const identifier = k.slice(separator + 1);
      const policy =
        this.#static.get(k)?.policy ??
        known?.get(k) ??
        (lookup.get(type, identifier) as { policy: Policy } | undefined)?.policy ??
        'REMOVE';
      delta.push({ type, identifier, policy });
    }
    for (const listener of this.#listeners) listener(delta);
  }
}

function toStored(row: Row): StoredRule {
  return {
    type: row.rule_type,
    identifier: row.identifier,
    policy: row.policy,
    customMsg: row.custom_msg,
    customUrl: row.custom_url,
    comment: row.comment,
    source: row.source,
    expiresAt: row.expires_at,
  };
}
