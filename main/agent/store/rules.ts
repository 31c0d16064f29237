// The rule store: every rule the agent holds, kept in step with the native rule table.
import { createHash } from 'node:crypto';
import type { RuleRecord, RuleTexts } from '../../../common/control';
import { canonicalIdentifier, execPolicy } from '../../../common/policy';
import {
  countRule,
  noRuleCounts,
  parseRule,
  POLICIES,
  RULE_POLICIES,
  RULE_TYPES,
  RuleError,
  type Policy,
  type RuleChange,
  type RuleCounts,
  type RuleIdentity,
  type RulePolicy,
  type RuleType,
} from '../../../common/rules';
import { POLICY_CODES, type BinaryRuleChunk } from '../../../native/index';
import type { StaticRule } from '../config/config';
import type { Db } from './database';

/** Rows a statement inserts at once when a change is written. */
const WRITE_BATCH = 200;

export type { RuleTexts };

/** The control contract's record (common/control.ts), always saying what the exec path enforces. */
export interface StoredRule extends RuleRecord {
  readonly enforced: Policy | null;
}

/** A put (policy) or a removal (REMOVE) with the rule's details. */
export interface StoreChange extends RuleTexts {
  readonly type: RuleType;
  readonly identifier: string;
  readonly policy: RulePolicy | 'REMOVE';
  readonly expiresAt?: number | null;
}

/**
 * What the effective table now says for each touched target; a bulk of BINARY puts (a large
 * sync) comes as native chunks beside it, so that no object is made per rule.
 */
export type RuleListener = (delta: RuleChange[], bulk: readonly BinaryRuleChunk[]) => void;

interface Row {
  rule_type: RuleType;
  identifier: string;
  policy: RulePolicy;
  custom_msg: string | null;
  custom_url: string | null;
  cel_expr: string | null;
  event_detail_button_label: string | null;
  notification_app_name: string | null;
  comment: string | null;
  source: 'sync' | 'local';
  expires_at: number | null;
}

/** What the native table holds for a stored policy: CEL, which needs Santa's evaluator, nothing. */
function enforcedPolicy(policy: string): Policy | null {
  return (RULE_POLICIES as readonly string[]).includes(policy)
    ? execPolicy(policy as RulePolicy)
    : (policy as Policy);
}

/** The columns a rule's texts go to, in the order the write statements bind them. */
const TEXT_COLUMNS = [
  'custom_msg',
  'custom_url',
  'cel_expr',
  'event_detail_button_label',
  'notification_app_name',
  'comment',
] as const;

function textsOf(change: StoreChange): (string | null)[] {
  return [
    change.customMsg ?? null,
    change.customUrl ?? null,
    change.celExpr ?? null,
    change.eventDetailButtonLabel ?? null,
    change.notificationAppName ?? null,
    change.comment ?? null,
  ];
}

const key = (type: RuleType, identifier: string) => `${type}:${identifier}`;

/** Stored rows the native table refused when it was loaded, with the first few reasons. */
export interface SkippedRules {
  readonly count: number;
  readonly first: readonly string[];
}
/** How many reasons status shows, and how many skipped rows are remembered by key. */
const SKIPPED_SHOWN = 5;
const SKIPPED_REMEMBERED = 1_000;

export class RuleStore {
  readonly #db: Db;
  #static = new Map<string, StaticRule>();
  readonly #listeners = new Set<RuleListener>();
  #hash: string | undefined;
  /** Rows the last load left out of the native table: key → reason (the first ones only). */
  #skipped = new Map<string, string>();
  #skippedCount = 0;

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
    let outcome: Applied | undefined;
    this.#db.transaction(() => {
      outcome = this.#write(changes, source, now);
    })();
    this.#hash = undefined;
    this.#forgetSkipped(outcome!.forget);
    this.#emitApplied(outcome!);
    return { put: outcome!.put, removed: outcome!.removed };
  }

  /** Replaces every rule of a source at once (a clean sync). */
  replace(rules: readonly StoreChange[], source: 'sync' | 'local', now = Date.now()): void {
    const listening = this.#listeners.size > 0;
    let before: Set<string> | undefined;
    let outcome: Applied | undefined;
    const forget: string[] = [];
    this.#db.transaction(() => {
      if (listening) {
        before = new Set();
        for (const [type, identifier] of this.#db
          .prepare('SELECT rule_type, identifier FROM rules WHERE source = ?')
          .raw()
          .iterate(source) as IterableIterator<[RuleType, string]>) {
          before.add(key(type, identifier));
        }
      }
      if (this.#skippedCount > 0) {
        const sourceOf = this.#db.prepare(
          'SELECT source FROM rules WHERE rule_type = ? AND identifier = ?',
        );
        forget.push(
          ...[...this.#skipped.keys()].filter((k) => {
            const separator = k.indexOf(':');
            const row = sourceOf.get(k.slice(0, separator), k.slice(separator + 1)) as
              { source: string } | undefined;
            return row?.source === source;
          }),
        );
      }
      this.#db.prepare('DELETE FROM rules WHERE source = ?').run(source);
      outcome = this.#write(rules, source, now, listening);
    })();
    this.#hash = undefined;
    if (!outcome) return;
    this.#forgetSkipped([...forget, ...outcome.forget]);
    if (before) {
      // What the old set had and the new one lacks is gone (or falls back to a static rule).
      for (const k of outcome.written) before.delete(k);
      for (const k of before) outcome.touched.push(k);
    }
    this.#emitApplied(outcome);
  }

  /**
   * Writes the changes inside the caller's transaction. Only the last change to a target counts.
   * Rows go in key order, so that the B-tree is appended to rather than split at random (a
   * million rules: ~2 s instead of ~14 s), sorted with the engine's own string sort rather than
   * a comparator (~4x faster). Rules with nothing but a policy, the bulk of any large sync, bind
   * three values a row instead of nine.
   */
  #write(
    changes: readonly StoreChange[],
    source: 'sync' | 'local',
    now: number,
    trackWritten = false,
  ): Applied {
    const { remove, full, bareBatch, bareOne } = this.#writeStatements(source, now);
    const listening = this.#listeners.size > 0;
    const applied: Applied = {
      put: 0,
      removed: 0,
      touched: [],
      outcome: new Map(),
      written: new Set(),
      binary: [],
      forget: [],
    };
    const binary = new BinaryChunks(listening ? applied.binary : undefined);
    const check = new BinaryChunks(undefined);
    let batch: string[] = [];
    const flush = () => {
      for (let i = 0; i < batch.length; i += 3) bareOne.run(batch[i], batch[i + 1], batch[i + 2]);
      batch = [];
    };
    // Keys are made only when someone listens or static rules could shadow a target.
    const keyed = listening || this.#static.size > 0;
    const { order, canonical } = latestInKeyOrder(changes);
    // A row left out of the native table at the last load is gone or made good by this change.
    if (this.#skippedCount > 0)
      applied.forget.push(...order.map((i) => key(changes[i]!.type, canonical[i]!)));
    for (const i of order) {
      const change = changes[i]!;
      const identifier = canonical[i]!;
      const type = change.type;
      const k = keyed ? key(type, identifier) : '';
      if (change.policy === 'REMOVE') {
        applied.removed += remove.run(type, identifier).changes;
        if (listening) {
          applied.touched.push(k);
          applied.outcome.set(k, 'REMOVE');
        }
        continue;
      }
      applied.put++;
      // A BINARY rule's identifier becomes 32 bytes for the native table; checked before it is
      // written, so one malformed rule rolls the whole change back. A CEL rule holds nothing there.
      const enforced = enforcedPolicy(change.policy);
      const bulk = type === 'BINARY' && enforced !== null && listening && !this.#static.has(k);
      if (type === 'BINARY' && enforced !== null)
        (bulk ? binary : check).push(identifier, enforced);
      const texts = textsOf(change);
      if (change.expiresAt == null && texts.every((text) => text === null)) {
        batch.push(type, identifier, change.policy);
        if (batch.length === WRITE_BATCH * 3) {
          bareBatch.run(...batch);
          batch = [];
        }
      } else {
        full.run(type, identifier, change.policy, ...texts, source, change.expiresAt ?? null, now);
      }
      if (trackWritten) applied.written.add(k);
      if (listening && !bulk) {
        applied.touched.push(k);
        applied.outcome.set(k, enforced ?? 'REMOVE');
      }
    }
    flush();
    binary.finish();
    return applied;
  }

  /** The statements #write uses: rules with nothing but a policy bind three values, in batches. */
  #writeStatements(source: 'sync' | 'local', now: number) {
    const columns = `rule_type, identifier, policy, ${TEXT_COLUMNS.join(', ')}, source, expires_at, created_at`;
    const upsert = `ON CONFLICT (rule_type, identifier) DO UPDATE SET policy = excluded.policy,
         ${TEXT_COLUMNS.map((c) => `${c} = excluded.${c}`).join(', ')},
         source = excluded.source, expires_at = excluded.expires_at`;
    const fullRow = `(?, ?, ?, ${TEXT_COLUMNS.map(() => '?').join(', ')}, ?, ?, ?)`;
    const fullSql = (rows: number) =>
      `INSERT INTO rules (${columns}) VALUES ${Array(rows).fill(fullRow).join(', ')} ${upsert}`;
    // source is one of two literals and now an integer: both are safe to write into the SQL.
    const bareRow = `(?, ?, ?, ${TEXT_COLUMNS.map(() => 'NULL').join(', ')}, '${source}', NULL, ${Math.trunc(now)})`;
    const bareSql = (rows: number) =>
      `INSERT INTO rules (${columns}) VALUES ${Array(rows).fill(bareRow).join(', ')} ${upsert}`;
    return {
      remove: this.#db.prepare('DELETE FROM rules WHERE rule_type = ? AND identifier = ?'),
      full: this.#db.prepare(fullSql(1)),
      bareBatch: this.#db.prepare(bareSql(WRITE_BATCH)),
      bareOne: this.#db.prepare(bareSql(1)),
    };
  }

  /** Removes expired rules; returns how many. */
  expire(now = Date.now()): number {
    const rows = this.#db
      .prepare(
        'DELETE FROM rules WHERE expires_at IS NOT NULL AND expires_at <= ? RETURNING rule_type, identifier',
      )
      .all(now) as Row[];
    if (rows.length > 0) this.#hash = undefined;
    const keys = rows.map((row) => key(row.rule_type, row.identifier));
    this.#forgetSkipped(keys);
    this.#emit(keys);
    return rows.length;
  }

  get(type: RuleType, identifier: string): StoredRule | undefined {
    const canonical = canonicalIdentifier(type, identifier);
    const fixed = this.#static.get(key(type, canonical));
    if (fixed) return { ...fixed, enforced: fixed.policy, source: 'static' };
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
      ...[...this.#static.values()].map((rule) => ({
        ...rule,
        enforced: rule.policy,
        source: 'static' as const,
      })),
      ...rows.map(toStored),
    ];
  }

  /**
   * The native table in a form that costs no JavaScript object per BINARY rule: the other rules
   * (and every static one) as objects, the stored BINARY rules as chunks of hex and policy bytes.
   * A stored row the native table would refuse (written by an older version, or damaged on disk)
   * is left out rather than stopping the service; `skipped` says how many and why once the
   * BINARY chunks have been read.
   */
  forNative(chunkSize = 50_000): { others: RuleIdentity[]; binary: Iterable<BinaryRuleChunk> } {
    this.#skipped = new Map();
    this.#skippedCount = 0;
    const skip = (type: string, identifier: string, reason: string) => {
      this.#skippedCount++;
      if (this.#skipped.size < SKIPPED_REMEMBERED)
        this.#skipped.set(key(type as RuleType, identifier), reason);
    };
    const others: RuleIdentity[] = [...this.#static.values()].map((rule) => ({
      type: rule.type,
      identifier: rule.identifier,
      policy: rule.policy,
    }));
    for (const row of this.#db
      .prepare(
        "SELECT rule_type, identifier, policy FROM rules WHERE rule_type != 'BINARY' AND policy != 'CEL'",
      )
      .iterate() as IterableIterator<Row>) {
      if (this.#static.has(key(row.rule_type, row.identifier))) continue;
      try {
        others.push(
          parseRule({
            type: row.rule_type,
            identifier: row.identifier,
            policy: enforcedPolicy(row.policy),
          }),
        );
      } catch (error) {
        if (!(error instanceof RuleError)) throw error;
        skip(row.rule_type, row.identifier, error.message);
      }
    }
    const db = this.#db;
    const fixed = this.#static;
    function* binary(): Generator<BinaryRuleChunk> {
      const rows = db
        .prepare(
          "SELECT identifier, policy FROM rules WHERE rule_type = 'BINARY' AND policy != 'CEL'",
        )
        .raw()
        .iterate() as IterableIterator<[string, string]>;
      const chunks: BinaryRuleChunk[] = [];
      const builder = new BinaryChunks(chunks, chunkSize);
      for (const [identifier, stored] of rows) {
        if (fixed.has(key('BINARY', identifier))) continue;
        const policy = enforcedPolicy(stored) as Policy;
        // The chunk builder checks the hex as it copies it; only a refused row pays for a reason.
        if (!builder.tryPush(identifier, policy)) {
          try {
            parseRule({ type: 'BINARY', identifier, policy });
            skip('BINARY', identifier, `BINARY rule ${JSON.stringify(identifier)} refused`);
          } catch (error) {
            skip('BINARY', identifier, (error as Error).message);
          }
          continue;
        }
        if (chunks.length > 0) yield* chunks.splice(0);
      }
      builder.finish();
      yield* chunks;
    }
    return { others, binary: binary() };
  }

  /** Rows the last load (forNative) left out of the native table, less those removed since. */
  get skipped(): SkippedRules {
    return {
      count: this.#skippedCount,
      first: [...this.#skipped.values()].slice(0, SKIPPED_SHOWN),
    };
  }

  /**
   * Deletes a stored row that no rule change can name because the rule constructor refuses it
   * (a row the native table never held); returns how many rows went (0 or 1).
   */
  removeUnusable(type: string, identifier: string): number {
    const removed = this.#db
      .prepare('DELETE FROM rules WHERE rule_type = ? AND identifier = ?')
      .run(type, identifier).changes;
    if (removed > 0) {
      this.#hash = undefined;
      this.#forgetSkipped([key(type as RuleType, identifier)]);
    }
    return removed;
  }

  #forgetSkipped(keys: Iterable<string>): void {
    if (this.#skippedCount === 0) return;
    for (const k of keys) if (this.#skipped.delete(k)) this.#skippedCount--;
  }

  /** What the native table holds: every stored rule, static ones winning. */
  effective(): RuleIdentity[] {
    const out: RuleIdentity[] = [];
    for (const row of this.#db
      .prepare("SELECT rule_type, identifier, policy FROM rules WHERE policy != 'CEL'")
      .iterate() as IterableIterator<Row>) {
      if (!this.#static.has(key(row.rule_type, row.identifier))) {
        const policy = enforcedPolicy(row.policy) as Policy;
        out.push({ type: row.rule_type, identifier: row.identifier, policy });
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
      if (Object.hasOwn(counts, row.rule_type)) counts[row.rule_type] = row.n;
    }
    for (const rule of this.#static.values()) counts[rule.type]++;
    return counts;
  }

  /**
   * What the sync server gave this agent, counted as Santa counts its rule table, for preflight:
   * the server compares these with what it sent and answers a difference with a clean sync, so
   * static rules (configuration, as in Santa) and local ones (this machine's own) are left out.
   */
  syncedCounts(): RuleCounts {
    const counts = noRuleCounts();
    for (const row of this.#db
      .prepare(
        "SELECT rule_type, policy, count(*) AS n FROM rules WHERE source = 'sync' GROUP BY rule_type, policy",
      )
      .all() as { rule_type: RuleType; policy: RulePolicy; n: number }[])
      countRule(counts, row, row.n);
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

  /**
   * Tells listeners what changed. A large set of BINARY puts goes as chunks of digests (no object
   * per rule); everything else as changes.
   */
  #emitApplied(applied: Applied): void {
    if (this.#listeners.size === 0) return;
    const bulk = applied.binary.reduce((sum, chunk) => sum + chunk.policies.length, 0);
    if (bulk < BULK_THRESHOLD) {
      // BINARY sorts first of the types, so these go first to keep the delta in key order.
      const keys: string[] = [];
      for (const chunk of applied.binary) {
        for (let i = 0; i < chunk.policies.length; i++) {
          const k = key('BINARY', Buffer.from(chunk.digests).toString('hex', i * 32, i * 32 + 32));
          keys.push(k);
          applied.outcome.set(k, POLICY_NAMES[chunk.policies[i]!]!);
        }
      }
      this.#emit([...keys, ...applied.touched], applied.outcome);
      return;
    }
    this.#emit(applied.touched, applied.outcome, applied.binary);
  }

  /** Tells listeners what the effective table now says for each touched target. */
  #emit(
    keys: readonly string[],
    known?: ReadonlyMap<string, Policy | 'REMOVE'>,
    bulk: readonly BinaryRuleChunk[] = [],
  ): void {
    if (this.#listeners.size === 0 || (keys.length === 0 && bulk.length === 0)) return;
    const lookup = this.#db.prepare(
      'SELECT policy FROM rules WHERE rule_type = ? AND identifier = ?',
    );
    const delta: RuleChange[] = [];
    for (const k of new Set(keys)) {
      const separator = k.indexOf(':');
      const type = k.slice(0, separator) as RuleType;
      const identifier = k.slice(separator + 1);
      const stored = (lookup.get(type, identifier) as { policy: string } | undefined)?.policy;
      const policy =
        this.#static.get(k)?.policy ??
        known?.get(k) ??
        (stored === undefined ? undefined : enforcedPolicy(stored)) ??
        'REMOVE';
      delta.push({ type, identifier, policy });
    }
    for (const listener of this.#listeners) listener(delta, bulk);
  }
}

/**
 * The last change to each target, as indices in (type, identifier) order, and the canonical
 * identifier of every change.
 * Sorting is stable, so of equal targets the last in a run is the last given.
 */
function latestInKeyOrder(changes: readonly StoreChange[]): {
  order: number[];
  canonical: string[];
} {
  const canonical = changes.map((change) => {
    try {
      // A CEL rule is checked as the removal it is for the native table.
      const policy =
        change.policy === 'REMOVE' ? 'REMOVE' : (enforcedPolicy(change.policy) ?? 'REMOVE');
      return parseRule({ ...change, policy }, true).identifier;
    } catch (error) {
      if (!(error instanceof RuleError)) throw error;
      throw new RuleError(`${error.message}; no rule of this change was applied`);
    }
  });
  const byType = new Map<RuleType, number[]>();
  for (let i = 0; i < changes.length; i++) {
    const type = changes[i]!.type;
    let indices = byType.get(type);
    if (!indices) byType.set(type, (indices = []));
    indices.push(i);
  }
  const order: number[] = [];
  for (const type of [...byType.keys()].sort()) {
    const indices = byType.get(type)!;
    const ordered =
      DIGEST_RULE_TYPES.has(type) && indices.length > 1_000
        ? orderDigests(indices, canonical)
        : stableSort(indices, canonical);
    for (let n = 0; n < ordered.length; n++) {
      const i = ordered[n]!;
      const next = ordered[n + 1];
      if (next !== undefined && canonical[next] === canonical[i]) continue;
      order.push(i);
    }
  }
  return { order, canonical };
}

function stableSort(indices: number[], canonical: readonly string[]): number[] {
  return indices.sort((a, b) => {
    const x = canonical[a]!;
    const y = canonical[b]!;
    return x < y ? -1 : x > y ? 1 : a - b;
  });
}

/**
 * Orders many hex digests without a comparator call per pair: each becomes one number, its
 * leading hex digits above its position, and a Float64Array sorts those natively. Digests
 * sharing the leading digits (rare, or the same target twice) are then sorted in full. A
 * non-hex identifier only lands out of order, which costs speed, never correctness: equal
 * identifiers always share their number's high part.
 */
function orderDigests(indices: readonly number[], canonical: readonly string[]): number[] {
  const indexBits = Math.max(1, Math.ceil(Math.log2(indices.length + 1)));
  const prefixDigits = Math.max(1, Math.floor((53 - indexBits) / 4));
  const scale = 2 ** indexBits;
  const keys = new Float64Array(indices.length);
  for (let n = 0; n < indices.length; n++) {
    const id = canonical[indices[n]!]!;
    let prefix = 0;
    for (let d = 0; d < prefixDigits; d++) prefix = prefix * 16 + hexValue(id.charCodeAt(d));
    keys[n] = prefix * scale + n;
  }
  keys.sort();
  const ordered = new Array<number>(indices.length);
  for (let n = 0; n < keys.length; n++) ordered[n] = indices[keys[n]! % scale]!;
  for (let start = 0; start < keys.length;) {
    const prefix = Math.floor(keys[start]! / scale);
    let end = start + 1;
    while (end < keys.length && Math.floor(keys[end]! / scale) === prefix) end++;
    if (end - start > 1) {
      const run = stableSort(ordered.slice(start, end), canonical);
      for (let n = 0; n < run.length; n++) ordered[start + n] = run[n]!;
    }
    start = end;
  }
  return ordered;
}

const DIGEST_RULE_TYPES: ReadonlySet<RuleType> = new Set(['BINARY', 'CERTIFICATE', 'CDHASH']);
/** A hex digit's value (either case); anything else gives some value in 0–15. */
const hexValue = (code: number) => (code <= 57 ? code - 48 : (code | 32) - 87) & 15;

/** Above this many BINARY puts in one change, listeners get them as chunks. */
const BULK_THRESHOLD = 1_000;
const CHUNK = 50_000;
const POLICY_NAMES = Object.fromEntries(
  Object.entries(POLICY_CODES).map(([name, code]) => [code, name as Policy]),
) as Record<number, Policy>;

interface Applied {
  put: number;
  removed: number;
  /** Targets whose effective policy listeners are told one by one. */
  touched: string[];
  outcome: Map<string, Policy | 'REMOVE'>;
  /** Every target written (when asked for: a clean sync compares it with what was there). */
  written: Set<string>;
  /** BINARY puts not shadowed by a static rule, as native chunks. */
  binary: BinaryRuleChunk[];
  /** Targets of rows left out of the native table at the last load, now gone or made good. */
  forget: string[];
}

/** Collects BINARY puts into chunks of 32 digest bytes and one policy byte a rule. */
class BinaryChunks {
  readonly #out: BinaryRuleChunk[] | undefined;
  readonly #size: number;
  #digests: Buffer;
  #policies: Uint8Array;
  #count = 0;

  /** Without out, only checks that each identifier is a SHA-256 in hex. */
  constructor(out: BinaryRuleChunk[] | undefined, size = CHUNK) {
    this.#out = out;
    this.#size = out ? size : 1;
    this.#digests = Buffer.allocUnsafe(this.#size * 32);
    this.#policies = new Uint8Array(this.#size);
  }

  push(identifier: string, policy: Policy): void {
    if (!this.tryPush(identifier, policy)) {
      throw new RuleError(
        `BINARY rule ${JSON.stringify(identifier.slice(0, 80))} refused: the identifier must be a SHA-256 (64 hex digits) and the policy one of ${POLICIES.join(', ')}; no rule of this change was applied`,
      );
    }
  }

  /** Adds the rule when the native table would take it; false (and nothing added) when not. */
  tryPush(identifier: string, policy: Policy): boolean {
    const offset = this.#out ? this.#count * 32 : 0;
    const code = Object.hasOwn(POLICY_CODES, policy) ? POLICY_CODES[policy] : undefined;
    if (
      code === undefined ||
      identifier.length !== 64 ||
      this.#digests.write(identifier, offset, 32, 'hex') !== 32
    )
      return false;
    if (!this.#out) return true;
    this.#policies[this.#count++] = code;
    if (this.#count === this.#size) this.finish();
    return true;
  }

  finish(): void {
    if (!this.#out || this.#count === 0) return;
    this.#out.push({
      digests: this.#digests.subarray(0, this.#count * 32),
      policies: this.#policies.subarray(0, this.#count),
    });
    this.#digests = Buffer.allocUnsafe(this.#size * 32);
    this.#policies = new Uint8Array(this.#size);
    this.#count = 0;
  }
}
function toStored(row: Row): StoredRule {
  return {
    type: row.rule_type,
    identifier: row.identifier,
    policy: row.policy,
    enforced: enforcedPolicy(row.policy),
    customMsg: row.custom_msg,
    customUrl: row.custom_url,
    celExpr: row.cel_expr,
    eventDetailButtonLabel: row.event_detail_button_label,
    notificationAppName: row.notification_app_name,
    comment: row.comment,
    source: row.source,
    expiresAt: row.expires_at,
  };
}
