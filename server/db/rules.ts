// Rules with scopes and expiry. Every change takes the next version from one sequence, so that a
// machine gets exactly what changed since the version it last acknowledged.
import { PostgresAdapter, sql, type ExpressionBuilder, type Selectable } from 'kysely';
import { ruleTarget, type PushHub } from '../push';
import { audit } from './audit';
import type { Db } from './connect';
import { prepared } from './prepared';
import { rowBy } from './rows';
import type { Database, RulesTable } from './schema';
import { containsText, pageOf, type Page, type PageOf } from './search';
import {
  countRule,
  noRuleCounts,
  resolveRules,
  ruleKey,
  scopeLevel,
  type RuleCounts,
  type RuleDetails,
} from '../../common/rules';

export interface NewRule extends Partial<RuleDetails> {
  identifier: string;
  rule_type: string;
  policy: string;
  scope: 'global' | 'machine' | 'user' | 'tag';
  scope_value?: string | null;
  expires_at?: number | null;
  comment?: string | null;
  created_by: string;
}

export type RuleRow = Omit<RulesTable, 'id'> & { id: number };

export type RuleScope = NewRule['scope'];

/** Who made a change from the console, and why: audited in the change's own transaction. */
export interface RuleChangeBy {
  readonly actor: string;
  readonly details?: Record<string, unknown>;
}

/** What the rules list can be narrowed to. Only rules in force are listed. */
export interface RuleFilter {
  readonly scope?: RuleScope;
  /** The scope's machine id, user or tag, exactly. */
  readonly scopeValue?: string;
  readonly ruleType?: string;
  readonly policy?: string;
  readonly identifier?: string;
  /** Part of the identifier, the comment or the custom message. */
  readonly text?: string;
}

/** The versions a preflight fixes: of the rules its sync sends, of the settings it answers. */
export interface SyncVersions {
  readonly rules: number;
  readonly settings: number;
}

export class RuleRepository {
  readonly #countCache = new Map<string, RuleCounts>();
  readonly #contestedCache = new Map<string, Set<string>>();
  #sharedGlobals: { version: number; keys: string[] } | undefined;
  #globalCountCache: { version: number; counts: RuleCounts } | undefined;
  readonly #windows = new Map<string, Promise<SharedWindow | null>>();
  #statisticsAt: number | undefined;

  /** Every preflight's query (syncVersions): compiled once. */
  readonly #versions;

  constructor(
    private readonly db: Db,
    private readonly push?: PushHub,
  ) {
    this.#versions = prepared(db, (v: { now: number }) => {
      const counter = (name: string) =>
        db.selectFrom('counters').select('value').where('name', '=', name);
      return db.selectNoFrom((eb) => [
        counter('rule_version').as('rules'),
        counter('settings_version').as('settings'),
        eb
          .exists(
            eb
              .selectFrom('rules')
              .select('id')
              .where('deleted', '=', 0)
              .where('expires_at', '<=', v.now),
          )
          .as('due'),
      ]);
    });
  }

  async #nextVersion(trx: Db): Promise<number> {
    const row = await sql<{
      value: number;
    }>`UPDATE counters SET value = value + 1 WHERE name = 'rule_version' RETURNING value`.execute(
      trx,
    );
    return Number(row.rows[0]!.value);
  }

  async currentVersion(): Promise<number> {
    const row = await this.db
      .selectFrom('counters')
      .select('value')
      .where('name', '=', 'rule_version')
      .executeTakeFirstOrThrow();
    return Number(row.value);
  }

  /** Puts a rule (replacing one for the same target and scope). */
  async put(rule: NewRule, now = Date.now(), by?: RuleChangeBy): Promise<number> {
    const id = await this.db.transaction().execute(async (trx) => {
      const version = await this.#nextVersion(trx);
      await trx
        .updateTable('rules')
        .set({ deleted: 1, version: sql`-id` })
        .where('rule_type', '=', rule.rule_type)
        .where('identifier', '=', rule.identifier)
        .where('scope', '=', rule.scope)
        .where('scope_value', rule.scope_value == null ? 'is' : '=', rule.scope_value ?? null)
        .where('deleted', '=', 0)
        .execute();
      const inserted = await trx
        .insertInto('rules')
        .values({
          custom_msg: null,
          custom_url: null,
          cel_expr: null,
          event_detail_button_label: null,
          notification_app_name: null,
          scope_value: null,
          expires_at: null,
          comment: null,
          ...rule,
          created_at: now,
          deleted: 0,
          version,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      if (by)
        await audit(
          trx,
          {
            actor: by.actor,
            action: 'rule.create',
            target: `rule:${inserted.id}`,
            details: {
              rule_type: rule.rule_type,
              identifier: rule.identifier,
              policy: rule.policy,
              scope: rule.scope,
              scope_value: rule.scope_value ?? null,
              expires_at: rule.expires_at ?? null,
              ...by.details,
            },
          },
          now,
        );
      return inserted.id;
    });
    await this.push?.publish({
      kind: 'rules-changed',
      target: ruleTarget(rule.scope, rule.scope_value ?? null),
    });
    return id;
  }

  /**
   * Deletes a rule: machines that had it get a REMOVE at their next sync. Removed from the
   * console (`by`), it is audited with it and the machines it reached are told at once.
   */
  async remove(id: number, by?: RuleChangeBy, now = Date.now()): Promise<boolean> {
    const removed = await this.db.transaction().execute(async (trx) => {
      const version = await this.#nextVersion(trx);
      const row = await trx
        .updateTable('rules')
        .set({ deleted: 1, version })
        .where('id', '=', id)
        .where('deleted', '=', 0)
        .returning(['rule_type', 'identifier', 'policy', 'scope', 'scope_value'])
        .executeTakeFirst();
      if (row && by)
        await audit(
          trx,
          {
            actor: by.actor,
            action: 'rule.remove',
            target: `rule:${id}`,
            details: { ...row, ...by.details },
          },
          now,
        );
      return row;
    });
    if (removed && by)
      await this.push?.publish({
        kind: 'rules-changed',
        target: ruleTarget(removed.scope, removed.scope_value),
      });
    return removed !== undefined;
  }

  async get(id: number): Promise<RuleRow | undefined> {
    return (await rowBy(this.db, 'rules', 'id', id)) as RuleRow | undefined;
  }

  /** Rules in force (not removed, not expired), newest first. */
  async list(filter: RuleFilter, page: Page, now = Date.now()): Promise<PageOf<RuleRow>> {
    const base = this.db
      .selectFrom('rules')
      .where('deleted', '=', 0)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .$if(filter.scope !== undefined, (q) => q.where('scope', '=', filter.scope!))
      .$if(filter.scopeValue !== undefined, (q) => q.where('scope_value', '=', filter.scopeValue!))
      .$if(filter.ruleType !== undefined, (q) => q.where('rule_type', '=', filter.ruleType!))
      .$if(filter.policy !== undefined, (q) => q.where('policy', '=', filter.policy!))
      .$if(filter.identifier !== undefined, (q) => q.where('identifier', '=', filter.identifier!))
      .$if(Boolean(filter.text), (q) =>
        q.where((eb) =>
          eb.or(
            ['identifier', 'comment', 'custom_msg'].map((column) =>
              containsText(column, filter.text!),
            ),
          ),
        ),
      );
    const { rows, total } = await pageOf(base, page, (q) => q.selectAll().orderBy('id', 'desc'));
    return { rows: rows as RuleRow[], total };
  }

  /** The rules in force that reach this machine: global, its own, its user's and its tags'. */
  async inForceFor(
    machineId: string,
    primaryUser: string | null,
    tags: readonly string[],
    now = Date.now(),
  ): Promise<RuleRow[]> {
    return (await this.db
      .selectFrom('rules')
      .selectAll()
      .where('deleted', '=', 0)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .where((eb) => reachesMachine(eb, { machineId, primaryUser, tags }))
      .orderBy('id', 'desc')
      .limit(1000)
      .execute()) as RuleRow[];
  }

  /**
   * What the console shows as reaching a machine: its rules in force (the newest 1000), each with
   * the id of the rule the machine holds instead when another wins its key (resolveRules, as its
   * sync decides; the winner is looked for among all rules in force, not only those shown).
   */
  async resolvedFor(
    reach: Reach,
    now = Date.now(),
  ): Promise<(RuleRow & { shadowed_by: number | null })[]> {
    const shown = await this.inForceFor(reach.machineId, reach.primaryUser, reach.tags, now);
    const identifiers = [...new Set(shown.map((row) => row.identifier))];
    const inForce = this.db
      .selectFrom('rules')
      .selectAll()
      .where('deleted', '=', 0)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .where((eb) => reachesMachine(eb, reach));
    const all = await byIdentifiers(identifiers, (chunk) =>
      inForce.where('identifier', 'in', chunk).execute(),
    );
    const winners = resolveRules(all);
    return shown.map((row) => {
      const winner = winners.get(ruleKey(row.rule_type, row.identifier));
      return { ...row, shadowed_by: winner && winner.id !== row.id ? Number(winner.id) : null };
    });
  }

  /**
   * What a preflight fixes for its sync, once what was due has expired: the rule version, and the
   * settings version its settings answer is kept for. One query reads both and whether any rule
   * in force is past its expiry (rarely), instead of one for each on every preflight.
   */
  async syncVersions(now = Date.now()): Promise<SyncVersions> {
    const [row] = await this.#versions({ now });
    const settings = Number(row!.settings);
    if (!row!.due || (await this.expire(now)) === 0) return { rules: Number(row!.rules), settings };
    return { rules: await this.currentVersion(), settings };
  }

  /** Marks expired rules deleted, with new versions, so that their removal reaches machines. */
  async expire(now = Date.now()): Promise<number> {
    const expired = await this.db
      .selectFrom('rules')
      .select('id')
      .where('deleted', '=', 0)
      .where('expires_at', '<=', now)
      .execute();
    for (const { id } of expired) await this.remove(id);
    return expired.length;
  }

  /**
   * One page of what a machine's sync sends, resolved by scope (common/rules.ts resolveRules).
   * Pages walk rows in version order, so the cursor is a version. A clean sync sends each key's
   * winner, at the page of the winner's own row. A normal sync looks only at keys with a row
   * changed since `since`, and sends each once (at the page of its last such row): the winner, or
   * REMOVE when nothing reaches the machine for it any more; nothing when the winner is older than
   * `since` and every change was of a wider scope, so it cannot have displaced what the machine
   * holds. After a membership change (`previous`), the keys of every rule narrower than global
   * that reached the old or reaches the new membership are looked at too, so that the old user's
   * and tags' rules go and the new ones' come, by their exact transitions.
   */
  async syncPage(reach: Reach, window: SyncWindow): Promise<SyncPage> {
    const { upTo, limit, clean } = window;
    const reaches = window.previous ? [reach, window.previous] : [reach];
    if (clean) await this.#freshStatistics(upTo);
    const shared = clean || window.previous ? null : await this.#sharedWindow(window.since, upTo);
    const scanned = shared
      ? shared.changed
          .filter((row) => Number(row.version) > window.after && ruleReaches(row, reach))
          .slice(0, limit + 1)
      : await this.#scan(reaches, window);
    const page = scanned.slice(0, limit);
    const next = scanned.length > limit ? Number(page[page.length - 1]!.version) : undefined;
    // A clean sync looks up only the keys another rule may contest: most are one global rule.
    const contested = clean ? await this.#contestedKeys(reach, upTo) : undefined;
    const looked = contested
      ? page.filter((row) => contested.has(ruleKey(row.rule_type, row.identifier)))
      : page;
    const keyRows = shared
      ? shared.keyRows.filter((row) => ruleReaches(row, reach))
      : await this.#rowsForKeys(reaches, looked, window);
    const keyed = keyStates(reach, looked, keyRows, window);
    const rows: RuleRow[] = [];
    for (const row of page) {
      const key = keyed.get(ruleKey(row.rule_type, row.identifier));
      if (clean) {
        if (!key || key.winner?.id === row.id) rows.push(row);
      } else if (key && Number(row.version) === key.lastScanned && !key.unchanged) {
        // A deleted row stands for REMOVE.
        rows.push(key.winner ?? { ...row, deleted: 1 });
      }
    }
    return { rows, ...(next !== undefined ? { next } : {}) };
  }

  /**
   * On PostgreSQL, statistics of the rules table that hold for what a clean sync walks. Just
   * after a large import, before autovacuum has analyzed it (up to a minute later), the planner
   * guesses a handful of rows for a page and reads and sorts every later version for each one
   * (100,000 rules: 100 pages of ~80 ms). Looked at once per version when clean syncs start, and
   * analyzed (~0.25 s for 100,000 rules) when far more rows changed than its statistics saw.
   */
  async #freshStatistics(upTo: number): Promise<void> {
    if (this.#statisticsAt === upTo || !(this.db.getExecutor().adapter instanceof PostgresAdapter))
      return;
    this.#statisticsAt = upTo;
    const { rows } = await sql<{ changed: string; rows: number }>`
      SELECT s.n_mod_since_analyze AS changed, c.reltuples AS rows
      FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
      WHERE s.relid = 'rules'::regclass`.execute(this.db);
    const changed = Number(rows[0]?.changed ?? 0);
    if (changed > STALE_STATISTICS_ROWS + 0.2 * Math.max(0, Number(rows[0]?.rows ?? 0)))
      await sql`ANALYZE rules`.execute(this.db);
  }

  /** The rows a sync's page walks, in version order, one more than the page holds. */
  async #scan(reaches: readonly Reach[], window: SyncWindow): Promise<RuleRow[]> {
    return (await this.db
      .selectFrom('rules')
      .selectAll()
      .where('version', '>', window.after)
      .where('version', '<=', window.upTo)
      .where((eb) => eb.or(reaches.map((each) => reachesMachine(eb, each))))
      .where((eb) => scanFilter(eb, window))
      .orderBy('version')
      .limit(window.limit + 1)
      .execute()) as RuleRow[];
  }

  /**
   * What every normal sync of one window of versions reads, whoever the machine: the rows changed
   * in it and all rows of their keys, of any scope (each machine takes those that reach it, as
   * the queries would). After a rule change most of a fleet syncs the same window, and each would
   * otherwise ask for the same rows twice. Null when the window is too large to keep, so that its
   * syncs query page by page. The rows are those in the database when the first such sync asked,
   * after `upTo` was fixed, as a query of that moment would read them.
   */
  #sharedWindow(since: number, upTo: number): Promise<SharedWindow | null> {
    const cacheKey = `${since}:${upTo}`;
    let shared = this.#windows.get(cacheKey);
    if (!shared) {
      shared = this.#readWindow(since, upTo);
      shared.catch(() => this.#windows.delete(cacheKey));
      if (this.#windows.size >= SHARED_WINDOWS)
        this.#windows.delete(this.#windows.keys().next().value!);
      this.#windows.set(cacheKey, shared);
    }
    return shared;
  }

  async #readWindow(since: number, upTo: number): Promise<SharedWindow | null> {
    const changed = (await this.db
      .selectFrom('rules')
      .selectAll()
      .where('version', '>', since)
      .where('version', '<=', upTo)
      .orderBy('version')
      .limit(SHARED_WINDOW_ROWS + 1)
      .execute()) as RuleRow[];
    if (changed.length > SHARED_WINDOW_ROWS) return null;
    const keyRows = await this.#rowsForKeys([], changed, { since, upTo }, SHARED_KEY_ROWS + 1);
    return keyRows.length > SHARED_KEY_ROWS ? null : { changed, keyRows };
  }

  /**
   * The rows of a page's keys a sync resolves them from: those at `upTo` that reach one of
   * `reaches` (every scope when there is none), in force or changed since `since`.
   */
  async #rowsForKeys(
    reaches: readonly Reach[],
    page: readonly RuleRow[],
    window: Pick<SyncWindow, 'since' | 'upTo'>,
    limit?: number,
  ): Promise<RuleRow[]> {
    const { since, upTo } = window;
    if (page.length === 0) return [];
    return (
      (await this.db
        .selectFrom('rules')
        .selectAll()
        .where('rule_type', 'in', [...new Set(page.map((row) => row.rule_type))])
        .where('identifier', 'in', [...new Set(page.map((row) => row.identifier))])
        // Versions and deleted hidden from the planners too, so that both look the page's keys up
        // by (rule_type, identifier) instead of reading every version or every rule in force.
        .where(sql<number>`version + 0`, '<=', upTo)
        // Expiry is not looked at: preflight expired what was due, and this sync sends the rule set
        // as of then; a rule expiring since goes at the next sync, as its removal's version says.
        .where((eb) => eb.or([eb(sql<number>`version + 0`, '>', since), eb(notDeleted(), '=', 0)]))
        .$if(reaches.length > 0, (q) =>
          q.where((eb) => eb.or(reaches.map((each) => reachesMachine(eb, each)))),
        )
        .$if(limit !== undefined, (q) => q.limit(limit!))
        .execute()) as RuleRow[]
    );
  }

  /**
   * The keys for which more than one rule in force at `upTo` may reach the machine: those of its
   * own, its user's and its tags' rules, and global keys held by more than one rule (an approval
   * beside a console rule). Kept per version and membership, the global part per version, so that
   * the pages of one clean sync ask once.
   */
  async #contestedKeys(reach: Reach, upTo: number): Promise<Set<string>> {
    const cacheKey = JSON.stringify([upTo, reach.machineId, reach.primaryUser, reach.tags]);
    const cached = this.#contestedCache.get(cacheKey);
    if (cached) return cached;
    if (this.#sharedGlobals?.version !== upTo) {
      const shared = await this.db
        .selectFrom('rules')
        .select(['rule_type', 'identifier'])
        .where(notDeleted(), '=', 0)
        .where('version', '<=', upTo)
        .where('scope', '=', 'global')
        .groupBy(['rule_type', 'identifier'])
        .having((eb) => eb.fn.countAll(), '>', 1)
        .execute();
      this.#sharedGlobals = {
        version: upTo,
        keys: shared.map((row) => ruleKey(row.rule_type, row.identifier)),
      };
    }
    const narrow = await this.db
      .selectFrom('rules')
      .select(['rule_type', 'identifier'])
      .where(notDeleted(), '=', 0)
      .where('version', '<=', upTo)
      .where((eb) => reachesMachine(eb, reach, false))
      .execute();
    const keys = new Set([
      ...this.#sharedGlobals.keys,
      ...narrow.map((row) => ruleKey(row.rule_type, row.identifier)),
    ]);
    if (this.#contestedCache.size >= CONTESTED_CACHE_SIZE)
      this.#contestedCache.delete(this.#contestedCache.keys().next().value!);
    this.#contestedCache.set(cacheKey, keys);
    return keys;
  }

  /** One page of a sync, as rows (a deleted row stands for REMOVE): for tests and tools. */
  async changesFor(
    machineId: string,
    sinceVersion: number,
    upToVersion: number,
    afterVersion: number,
    limit: number,
    clean: boolean,
    primaryUser: string | null = null,
    tags: readonly string[] = [],
  ): Promise<RuleRow[]> {
    const page = await this.syncPage(
      { machineId, primaryUser, tags },
      { since: sinceVersion, upTo: upToVersion, after: afterVersion, limit, clean },
    );
    return page.rows;
  }

  /**
   * How many rules of each kind a machine should hold at `version`, as Santa counts its table
   * (common/rules.ts countRule), for preflight's drift check. Global rules are summed once per
   * version; each machine adds the keys its own, its user's and its tags' rules resolve. Kept per
   * version and membership, so an idle machine's preflight costs no query.
   */
  async expectedCounts(reach: Reach, version: number): Promise<RuleCounts> {
    const cacheKey = JSON.stringify([version, reach.machineId, reach.primaryUser, reach.tags]);
    const cached = this.#countCache.get(cacheKey);
    if (cached) return cached;
    const counts = { ...(await this.#globalCounts(version)) };
    const narrow = (await this.db
      .selectFrom('rules')
      .selectAll()
      .where(notDeleted(), '=', 0)
      .where('version', '<=', version)
      .where((eb) => reachesMachine(eb, reach, false))
      .execute()) as RuleRow[];
    const globalAt = this.db
      .selectFrom('rules')
      .selectAll()
      .where('deleted', '=', 0)
      .where('version', '<=', version)
      .where('scope', '=', 'global');
    const identifiers = [...new Set(narrow.map((row) => row.identifier))];
    const global = await byIdentifiers(identifiers, (chunk) =>
      globalAt.where('identifier', 'in', chunk).execute(),
    );
    // The keys narrow rules touch: their global rule's count out, the resolved winner's in.
    for (const row of resolveRules(global).values()) countRule(counts, row, -1);
    for (const row of resolveRules([...global, ...narrow]).values()) countRule(counts, row);
    if (this.#countCache.size >= COUNT_CACHE_SIZE)
      this.#countCache.delete(this.#countCache.keys().next().value!);
    this.#countCache.set(cacheKey, counts);
    return counts;
  }

  async #globalCounts(version: number): Promise<RuleCounts> {
    if (this.#globalCountCache?.version === version) return this.#globalCountCache.counts;
    const rows = await this.db
      .selectFrom('rules')
      .select(['rule_type', 'policy', (eb) => eb.fn.countAll<number>().as('n')])
      .where('deleted', '=', 0)
      .where('version', '<=', version)
      .where('scope', '=', 'global')
      .groupBy(['rule_type', 'policy'])
      .execute();
    const counts = noRuleCounts();
    for (const row of rows) countRule(counts, row, Number(row.n));
    this.#globalCountCache = { version, counts };
    return counts;
  }
}

/** Who a machine is, as far as scopes go. */
export interface Reach {
  readonly machineId: string;
  readonly primaryUser: string | null;
  readonly tags: readonly string[];
}

/** The versions a sync page covers; see syncPage. */
export interface SyncWindow {
  /** The version the machine acknowledged (ignored by a clean sync). */
  readonly since: number;
  /** The version its preflight fixed for this sync. */
  readonly upTo: number;
  /** The cursor: rows up to this version were on earlier pages. */
  readonly after: number;
  readonly limit: number;
  readonly clean: boolean;
  /** The membership the machine's last completed sync was for, when it has changed since. */
  readonly previous?: Reach;
}

export interface SyncPage {
  /** Rules to send; a row with `deleted` set stands for REMOVE. */
  readonly rows: RuleRow[];
  /** The cursor for the next page, when there is one. */
  readonly next?: number;
}

interface KeyState {
  winner: RuleRow | undefined;
  lastScanned: number;
  scanned?: RuleRow[];
  unchanged?: boolean;
}

/** A window's rows, shared by the normal syncs of every machine (RuleRepository.syncPage). */
interface SharedWindow {
  /** The rows changed in the window, in version order. */
  readonly changed: readonly RuleRow[];
  /** Every row of their keys, of any scope, as #rowsForKeys reads them. */
  readonly keyRows: readonly RuleRow[];
}

/**
 * For the keys of a page, from their rows (#rowsForKeys): the winner among the rows in force at
 * `upTo` that reach the machine, the version of the key's last row the sync's scan takes in, and
 * whether the machine already holds the winner (see syncPage).
 */
function keyStates(
  reach: Reach,
  page: readonly RuleRow[],
  rows: readonly RuleRow[],
  window: SyncWindow,
): Map<string, KeyState> {
  const keys = new Map<string, KeyState>();
  for (const row of page)
    keys.set(ruleKey(row.rule_type, row.identifier), { winner: undefined, lastScanned: 0 });
  const live = rows.filter((row) => row.deleted === 0 && ruleReaches(row, reach));
  for (const [key, winner] of resolveRules(live)) {
    const state = keys.get(key);
    if (state) state.winner = winner;
  }
  for (const row of rows) {
    const state = keys.get(ruleKey(row.rule_type, row.identifier));
    if (!state || !isScanned(row, window)) continue;
    state.lastScanned = Math.max(state.lastScanned, Number(row.version));
    (state.scanned ??= []).push(row);
  }
  for (const state of keys.values()) {
    const winner = state.winner;
    state.unchanged =
      !window.previous &&
      winner !== undefined &&
      Number(winner.version) <= window.since &&
      (state.scanned ?? []).every((row) => scopeLevel(row.scope) < scopeLevel(winner.scope));
  }
  return keys;
}

/** The rows a sync's scan takes in (syncPage), as SQL and as a test of one row. */
function scanFilter(eb: ExpressionBuilder<Database, 'rules'>, window: SyncWindow) {
  if (window.clean) return eb(notDeleted(), '=', 0);
  const changed = eb('version', '>', window.since);
  return window.previous
    ? eb.or([changed, eb.and([eb('deleted', '=', 0), eb('scope', '!=', 'global')])])
    : changed;
}

function isScanned(row: RuleRow, window: SyncWindow): boolean {
  if (window.clean) return row.deleted === 0;
  const changed = Number(row.version) > window.since;
  return window.previous ? changed || (row.deleted === 0 && row.scope !== 'global') : changed;
}

/**
 * `deleted`, hidden from SQLite's planner: on `deleted = 0` it would read every row in force
 * through the (deleted, expires_at) index and sort them, on each page of a sync, where walking
 * versions stops at the page's end (and the drift check's lookup by scope_value is narrower).
 */
const notDeleted = () => sql<number>`deleted + 0`;

/** reachesMachine for one row. */
function ruleReaches(row: RuleRow, reach: Reach): boolean {
  switch (row.scope) {
    case 'global':
      return true;
    case 'machine':
      return row.scope_value === reach.machineId;
    case 'user':
      return Boolean(reach.primaryUser) && row.scope_value === reach.primaryUser;
    case 'tag':
      return row.scope_value !== null && reach.tags.includes(row.scope_value);
    default:
      return false;
  }
}

/** The rules for these identifiers, 500 to a statement so that no list passes a driver's limit. */
async function byIdentifiers(
  identifiers: readonly string[],
  fetch: (chunk: string[]) => Promise<Selectable<RulesTable>[]>,
): Promise<RuleRow[]> {
  const rows: RuleRow[] = [];
  for (let i = 0; i < identifiers.length; i += 500)
    rows.push(...((await fetch(identifiers.slice(i, i + 500))) as RuleRow[]));
  return rows;
}

/** Counts kept for this many (version, machine, membership) answers. */
const COUNT_CACHE_SIZE = 10_000;
/** Windows of versions whose rows normal syncs share, and how many rows one may hold. */
const SHARED_WINDOWS = 16;
const SHARED_WINDOW_ROWS = 200;
const SHARED_KEY_ROWS = 1000;
/** Rows changed beyond the last analysis (and a fifth of the table) that make its statistics stale. */
const STALE_STATISTICS_ROWS = 5000;
/** Contested keys kept for this many clean syncs in progress. */
const CONTESTED_CACHE_SIZE = 100;

/** Whether a rule's scope takes in this machine: the one test for what is in force and what syncs. */
function reachesMachine(eb: ExpressionBuilder<Database, 'rules'>, reach: Reach, global = true) {
  const { machineId, primaryUser, tags } = reach;
  return eb.or([
    ...(global ? [eb('scope', '=', 'global')] : []),
    eb.and([eb('scope', '=', 'machine'), eb('scope_value', '=', machineId)]),
    // A user-scoped rule reaches the machines whose primary user that is.
    ...(primaryUser
      ? [eb.and([eb('scope', '=', 'user'), eb('scope_value', '=', primaryUser)])]
      : []),
    // A tag-scoped rule reaches every machine that carries the tag.
    ...(tags.length > 0
      ? [eb.and([eb('scope', '=', 'tag'), eb('scope_value', 'in', [...tags])])]
      : []),
  ]);
}
