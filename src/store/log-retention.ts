/**
 * Retention of the store's history tables: `handled` (per consumer), `event_log`, `notifications`, `timeline`.
 *
 * Runtime: node. Each prune is one short `BEGIN IMMEDIATE` transaction that removes at most `maxRows` rows the
 * limit lets go (src/store/retention-cut.ts), oldest first, and in the same transaction adds what they counted
 * to the running totals (src/store/store-counters.ts), so the dashboard's counters never drop because history
 * was pruned:
 * - `handled:<consumer>`: `rows`, `tagged` and `distinct_tags`. A pruned tag counts as distinct only if no kept
 *   row of that consumer carries it (the kept row counts it instead), so "received" and "duplicated" stay exact
 *   over pruning. What pruning does lose is the memory of a tag: a duplicate that arrives after its first
 *   delivery was pruned is counted as a new tag. The window for spotting duplicates is the `handled` limit.
 * - `notifications`: one total per outcome; `timeline`: `encrypted`, `decrypted` and `late`.
 * Undecrypted timeline entries go too once old enough: a key arriving after that has nothing left to decrypt,
 * and the entry stays counted as unable to decrypt, which it was.
 */
import type { ClientStore } from './open-store';
import type { RowLimit } from './retention-policy';
import { retentionCut, type KeyedTable } from './retention-cut';
import { addToCounter } from './store-counters';

export const PRUNE_BATCH_ROWS = 5000;
const AGE_SCAN_ROWS = 10_000;

export interface PruneOptions {
  limit: RowLimit;
  nowMs: number;
  maxRows?: number;
}

export interface PruneOutcome {
  deleted: number;
  /** Nothing more the limit lets go is left (this call did not stop at its bound). */
  caughtUp: boolean;
}

interface PrunableTable {
  name: string;
  keyed: KeyedTable;
  /** The key of the `n`-th oldest row (1-based), or undefined when there are fewer rows. */
  nthOldestKey(n: number): number | undefined;
  /** Adds what the rows up to `lastKey` count to the totals, then deletes them; returns how many went. */
  foldAndDelete(lastKey: number): number;
}

function prune(store: ClientStore, table: PrunableTable, options: PruneOptions): PruneOutcome {
  const maxRows = options.maxRows ?? PRUNE_BATCH_ROWS;
  // Found before the write lock is taken, so the transaction holds it only for the delete: a cut stays valid
  // while rows are appended (they only make more rows old) and time passes, and only this pass deletes.
  const cut = retentionCut(table.keyed, options.limit, { nowMs: options.nowMs, afterKey: 0, scanRows: AGE_SCAN_ROWS });
  if (cut <= 0) return { deleted: 0, caughtUp: true };
  return store.immediate((): PruneOutcome => {
    const last = Math.min(cut, table.nthOldestKey(maxRows) ?? cut);
    const deleted = table.foldAndDelete(last);
    addToCounter(store, table.name, 'deleted', deleted);
    return { deleted, caughtUp: last === cut };
  });
}

export function pruneHandled(store: ClientStore, consumer: string, options: PruneOptions): PruneOutcome {
  const scope = `handled:${consumer}`;
  return prune(store, {
    name: scope,
    keyed: {
      keyBeyondNewest: (n) => firstKey(store.statement('SELECT seq AS k FROM handled WHERE consumer = ? ORDER BY seq DESC LIMIT 1 OFFSET ?').get(consumer, n)),
      oldestAfter: (after, limit) =>
        timedRows(store.statement('SELECT seq AS k, handled_at_ms AS t FROM handled WHERE consumer = ? AND seq > ? ORDER BY seq LIMIT ?').iterate(consumer, after, limit)),
    },
    nthOldestKey: (n) => firstKey(store.statement('SELECT seq AS k FROM handled WHERE consumer = ? ORDER BY seq LIMIT 1 OFFSET ?').get(consumer, n - 1)),
    foldAndDelete: (last) => {
      const counts = store
        .statement('SELECT count(*) AS rows, count(tag) AS tagged FROM handled WHERE consumer = ? AND seq <= ?')
        .get(consumer, last) as { rows: number; tagged: number };
      // INDEXED BY: left to itself (no ANALYZE statistics) the planner walks the primary key for `kept.seq > ?`
      // once per pruned row, which made pruning 5,000 rows of a 25,000-row table take a minute, not 20 ms.
      const distinct = store
        .statement(
          `SELECT count(DISTINCT tag) AS n FROM handled h WHERE h.consumer = ? AND h.seq <= ? AND h.tag IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM handled kept INDEXED BY handled_by_tag
                           WHERE kept.consumer = h.consumer AND kept.tag = h.tag AND kept.seq > ?)`,
        )
        .get(consumer, last, last) as { n: number };
      addToCounter(store, scope, 'rows', counts.rows);
      addToCounter(store, scope, 'tagged', counts.tagged);
      addToCounter(store, scope, 'distinct_tags', distinct.n);
      return store.statement('DELETE FROM handled WHERE consumer = ? AND seq <= ?').run(consumer, last).changes;
    },
  }, options);
}

/** Every consumer that has `handled` rows, for pruning each against the same limit. */
export function handledConsumers(store: ClientStore): string[] {
  return (store.statement('SELECT DISTINCT consumer FROM handled').all() as Array<{ consumer: string }>).map((row) => row.consumer);
}

export function pruneEventLog(store: ClientStore, options: PruneOptions): PruneOutcome {
  return prune(store, {
    name: 'event_log',
    keyed: simpleKeyed(store, 'event_log', 'id', 'at_ms'),
    nthOldestKey: (n) => firstKey(store.statement('SELECT id AS k FROM event_log ORDER BY id LIMIT 1 OFFSET ?').get(n - 1)),
    foldAndDelete: (last) => store.statement('DELETE FROM event_log WHERE id <= ?').run(last).changes,
  }, options);
}

export function pruneNotifications(store: ClientStore, options: PruneOptions): PruneOutcome {
  return prune(store, {
    name: 'notifications',
    keyed: simpleKeyed(store, 'notifications', 'rowid', 'shown_at_ms'),
    nthOldestKey: (n) => firstKey(store.statement('SELECT rowid AS k FROM notifications ORDER BY rowid LIMIT 1 OFFSET ?').get(n - 1)),
    foldAndDelete: (last) => {
      const byOutcome = store.statement('SELECT outcome, count(*) AS n FROM notifications WHERE rowid <= ? GROUP BY outcome').all(last) as Array<{
        outcome: string;
        n: number;
      }>;
      for (const row of byOutcome) addToCounter(store, 'notifications', row.outcome, row.n);
      return store.statement('DELETE FROM notifications WHERE rowid <= ?').run(last).changes;
    },
  }, options);
}

export function pruneTimeline(store: ClientStore, options: PruneOptions): PruneOutcome {
  return prune(store, {
    name: 'timeline',
    keyed: simpleKeyed(store, 'timeline', 'rowid', 'seen_at_ms'),
    nthOldestKey: (n) => firstKey(store.statement('SELECT rowid AS k FROM timeline ORDER BY rowid LIMIT 1 OFFSET ?').get(n - 1)),
    foldAndDelete: (last) => {
      const counts = store
        .statement(
          `SELECT count(*) AS encrypted, count(decrypted_at_ms) AS decrypted, coalesce(sum(late), 0) AS late
           FROM timeline WHERE rowid <= ? AND session_id IS NOT NULL`,
        )
        .get(last) as { encrypted: number; decrypted: number; late: number };
      addToCounter(store, 'timeline', 'encrypted', counts.encrypted);
      addToCounter(store, 'timeline', 'decrypted', counts.decrypted);
      addToCounter(store, 'timeline', 'late', counts.late);
      return store.statement('DELETE FROM timeline WHERE rowid <= ?').run(last).changes;
    },
  }, options);
}

/** A table keyed by an integer column (its rowid or an alias of it) with a time column. */
function simpleKeyed(store: ClientStore, table: string, key: string, time: string): KeyedTable {
  return {
    keyBeyondNewest: (n) => firstKey(store.statement(`SELECT ${key} AS k FROM ${table} ORDER BY ${key} DESC LIMIT 1 OFFSET ?`).get(n)),
    oldestAfter: (after, limit) => timedRows(store.statement(`SELECT ${key} AS k, ${time} AS t FROM ${table} WHERE ${key} > ? ORDER BY ${key} LIMIT ?`).iterate(after, limit)),
  };
}

function firstKey(row: unknown): number | undefined {
  return (row as { k: number } | undefined)?.k;
}

/** Rows read one at a time, so a walk that stops at the first young row reads no further. */
function* timedRows(rows: IterableIterator<unknown>): Generator<{ key: number; atMs: number }> {
  for (const row of rows as IterableIterator<{ k: number; t: number }>) yield { key: row.k, atMs: row.t };
}
