/**
 * Where a retention limit cuts a table: the highest key (`seq`, `id`, `rowid`) whose row the limit lets go.
 *
 * Runtime: node. A row may go once it is beyond the newest `maxRows` rows or older than `maxAgeMs` (whichever
 * keeps fewer). The row bound is one index walk from the newest end. The age bound is read as a prefix: walking
 * from the oldest row in key order, the rows are old until the first young one. Rows are appended in time
 * order, so the prefix is exactly the old rows; a clock stepping back can only make it shorter, which keeps a
 * row longer, never removes one early. The walk reads at most `scanRows` rows, which bounds a call; the next
 * call continues from where this one's deletions left off.
 */
import type { RowLimit } from './retention-policy';

export interface KeyedTable {
  /** The key of the row just beyond the newest `n`, or undefined when there are `n` rows or fewer. */
  keyBeyondNewest(n: number): number | undefined;
  /** Up to `limit` rows after `afterKey`, oldest first, with their time; read lazily (the walk may stop early). */
  oldestAfter(afterKey: number, limit: number): Iterable<{ key: number; atMs: number }>;
}

/** The highest key the limit lets go, and never less than `afterKey` (which means: nothing after it may go). */
export function retentionCut(table: KeyedTable, limit: RowLimit, options: { nowMs: number; afterKey: number; scanRows: number }): number {
  let cut = options.afterKey;
  if (limit.maxRows !== null) cut = Math.max(cut, table.keyBeyondNewest(limit.maxRows) ?? cut);
  if (limit.maxAgeMs !== null) {
    const oldBeforeMs = options.nowMs - limit.maxAgeMs;
    // Rows up to the row bound's cut go anyway; the age walk starts after them.
    for (const row of table.oldestAfter(cut, options.scanRows)) {
      if (row.atMs >= oldBeforeMs) break;
      cut = Math.max(cut, row.key);
    }
  }
  return cut;
}
