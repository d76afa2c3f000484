/**
 * A half-open span of time, `[fromMs, beforeMs)`, that the dashboard's summaries can be limited to: one run of
 * the app (everything since it started) or what earlier runs left in the same data directory (everything
 * before). Each summary says which of its timestamps the window applies to.
 *
 * Runtime: node. Both bounds are optional; `sqlBounds` turns them into numbers a query can compare with, so a
 * summary has one query whether it is limited or not.
 */
export interface TimeWindow {
  fromMs?: number;
  beforeMs?: number;
}

export function sqlBounds(window: TimeWindow = {}): { fromMs: number; beforeMs: number } {
  return { fromMs: window.fromMs ?? Number.MIN_SAFE_INTEGER, beforeMs: window.beforeMs ?? Number.MAX_SAFE_INTEGER };
}

/**
 * Whether totals of pruned rows (src/store/store-counters.ts) belong in a summary over `window`. Retention prunes
 * the oldest rows first and keeps only totals, with no timestamps, so they are credited to the window that
 * reaches back to the beginning (earlier runs, or everything). A single run longer than the retention limits
 * would see its own oldest rows counted there instead of in "this run".
 */
export function includesPrunedHistory(window: TimeWindow = {}): boolean {
  return window.fromMs === undefined;
}
