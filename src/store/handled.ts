/**
 * What consumers handled: one row per (consumer, inbox row), written inside the consumer's transaction.
 *
 * Runtime: node. `recordHandled` is meant to be called from a `consume` handler, so the row and the cursor move
 * are durable together (DESIGN.md §4.5). The summaries below are read-only and back the dashboard's counters and
 * the harness's oracle.
 */
import type { Database } from 'better-sqlite3';
import type { InboxRow } from './inbox';
import type { ClientStore } from './open-store';
import { sqlBounds, type TimeWindow } from './time-window';

/** The content fields the demo and the harness put in every to-device message they send. */
export function messageTag(content: Record<string, unknown>): string | null {
  return typeof content.tag === 'string' ? content.tag : null;
}

/** When the sender stamped the message (`sent_at_ms`), or null for a message without the stamp. */
export function messageSentAtMs(content: Record<string, unknown>): number | null {
  return typeof content.sent_at_ms === 'number' && Number.isFinite(content.sent_at_ms) ? content.sent_at_ms : null;
}

/** Records that `consumer` handled `row`; call it inside the consume handler's transaction. */
export function recordHandled(db: Database, consumer: string, row: InboxRow, nowMs: number): void {
  db.prepare(
    'INSERT INTO handled (consumer, seq, type, tag, sent_at_ms, handled_at_ms) VALUES (?, ?, ?, ?, ?, ?)',
  ).run(consumer, row.seq, row.type, messageTag(row.content), messageSentAtMs(row.content), nowMs);
}

export interface HandledSummary {
  /** Rows handled by the consumer. */
  rows: number;
  /** Distinct tags among them. */
  distinctTags: number;
  /** Handled rows whose tag had already been handled by this consumer. */
  duplicates: number;
}

/**
 * With `window`, only rows of messages sent inside it (by their `sent_at_ms`; a row without one counts by when it
 * was handled), so that a message belongs to the run of the app that sent it, wherever it was handled.
 */
export function summarizeHandled(store: ClientStore, consumer: string, window: TimeWindow = {}): HandledSummary {
  const row = store
    .statement(
      `SELECT count(*) AS rows, count(DISTINCT tag) AS distinct_tags, count(tag) AS tagged
       FROM handled WHERE consumer = @consumer
         AND coalesce(sent_at_ms, handled_at_ms) >= @fromMs AND coalesce(sent_at_ms, handled_at_ms) < @beforeMs`,
    )
    .get({ consumer, ...sqlBounds(window) }) as { rows: number; distinct_tags: number; tagged: number };
  return { rows: row.rows, distinctTags: row.distinct_tags, duplicates: row.tagged - row.distinct_tags };
}

/** Whether the consumer handled a row with this tag (one indexed lookup). */
export function hasHandledTag(store: ClientStore, consumer: string, tag: string): boolean {
  return store.statement('SELECT 1 FROM handled WHERE consumer = ? AND tag = ? LIMIT 1').get(consumer, tag) !== undefined;
}

/** Every distinct tag the consumer handled. */
export function handledTags(store: ClientStore, consumer: string): Set<string> {
  const rows = store.statement('SELECT DISTINCT tag FROM handled WHERE consumer = ? AND tag IS NOT NULL').all(consumer) as Array<{
    tag: string;
  }>;
  return new Set(rows.map((r) => r.tag));
}

/** Send-to-handled latencies of the newest `limit` tagged rows (of messages sent inside `window`), oldest first. */
export function recentLatencies(
  store: ClientStore,
  consumer: string,
  limit: number,
  window: TimeWindow = {},
): Array<{ atMs: number; latencyMs: number }> {
  const rows = store
    .statement(
      `SELECT handled_at_ms, sent_at_ms FROM handled
       WHERE consumer = @consumer AND sent_at_ms IS NOT NULL AND sent_at_ms >= @fromMs AND sent_at_ms < @beforeMs
       ORDER BY seq DESC LIMIT @limit`,
    )
    .all({ consumer, limit, ...sqlBounds(window) }) as Array<{ handled_at_ms: number; sent_at_ms: number }>;
  return rows.reverse().map((r) => ({ atMs: r.handled_at_ms, latencyMs: Math.max(0, r.handled_at_ms - r.sent_at_ms) }));
}
