/**
 * What consumers handled: one row per (consumer, inbox row), written inside the consumer's transaction.
 *
 * Runtime: node. `recordHandled` is meant to be called from a `consume` handler, so the row and the cursor move
 * are durable together (DESIGN.md §4.5). The summaries below are read-only and back the dashboard's counters and
 * the harness's oracle. The table is bounded by the `handled` retention limit (src/store/log-retention.ts); the
 * summary adds the totals that pruning kept, so its figures cover everything ever handled. The per-tag lookups
 * (`hasHandledTag`, `handledTags`) see only the rows still kept, which is why the race harness keeps them all.
 */
import type { Database, Statement } from 'better-sqlite3';
import { deliveryTag } from '../shared/delivery-tag';
import type { InboxRow } from './inbox';
import type { ClientStore } from './open-store';
import { includesPrunedHistory, sqlBounds, type TimeWindow } from './time-window';
import { countersOf } from './store-counters';

/**
 * The delivery tag of a to-device event (src/shared/delivery-tag.ts): the `tag` the demo and the harness put in
 * every message they send, or `room-key:<session_id>` for a decrypted `m.room_key`.
 */
export function messageTag(type: string, content: Record<string, unknown>): string | null {
  return deliveryTag(type, content);
}

/** When the sender stamped the message (`sent_at_ms`), or null for a message without the stamp. */
export function messageSentAtMs(content: Record<string, unknown>): number | null {
  return typeof content.sent_at_ms === 'number' && Number.isFinite(content.sent_at_ms) ? content.sent_at_ms : null;
}

const insertStatements = new WeakMap<Database, Statement>();

/**
 * Records that `consumer` handled `row`, with when it was sent (when stamped), stored in the inbox and handled;
 * call it inside the consume handler's transaction.
 */
export function recordHandled(db: Database, consumer: string, row: InboxRow, nowMs: number): void {
  // Prepared once per connection: this runs for every row every consumer handles.
  let insert = insertStatements.get(db);
  if (insert === undefined) {
    insert = db.prepare('INSERT INTO handled (consumer, seq, type, tag, sent_at_ms, stored_at_ms, handled_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)');
    insertStatements.set(db, insert);
  }
  insert.run(consumer, row.seq, row.type, messageTag(row.type, row.content), messageSentAtMs(row.content), row.receivedAtMs, nowMs);
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
  const pruned = includesPrunedHistory(window) ? countersOf(store, `handled:${consumer}`) : new Map<string, number>();
  const distinctTags = row.distinct_tags + (pruned.get('distinct_tags') ?? 0);
  const tagged = row.tagged + (pruned.get('tagged') ?? 0);
  return { rows: row.rows + (pruned.get('rows') ?? 0), distinctTags, duplicates: tagged - distinctTags };
}

/** Consumers that ever handled a row (kept or pruned), for `todevice inbox`. */
export function consumersWithHandled(store: ClientStore): string[] {
  const rows = store
    .statement(
      `SELECT DISTINCT consumer FROM handled
       UNION SELECT substr(scope, 9) FROM store_counters WHERE scope LIKE 'handled:%' ORDER BY 1`,
    )
    .all() as Array<{ consumer: string }>;
  return rows.map((row) => row.consumer);
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

/**
 * How many distinct tags the inbox holds after `afterSeq` that `consumer` has not handled, leaving out `exclude`
 * (tags the caller already counted): the dashboard's "pending" part that is committed but not yet consumed.
 * One SQL statement, so a backlog costs a scan of the rows after the cursor, never a listing of them.
 */
export function unhandledTagCount(
  store: ClientStore,
  consumer: string,
  options: { afterSeq: number; fetchedBy?: string; exclude: readonly string[]; sentWithin?: TimeWindow },
): number {
  const bounds = sqlBounds(options.sentWithin);
  const row = store
    .statement(
      `WITH tagged AS (
         SELECT DISTINCT json_extract(content, '$.tag') AS tag FROM inbox
         WHERE seq > @afterSeq AND (@fetchedBy IS NULL OR fetched_by_process = @fetchedBy)
           AND coalesce(json_extract(content, '$.sent_at_ms'), received_at_ms) >= @fromMs
           AND coalesce(json_extract(content, '$.sent_at_ms'), received_at_ms) < @beforeMs
       )
       SELECT count(*) AS n FROM tagged
       WHERE typeof(tag) = 'text' AND tag NOT IN (SELECT value FROM json_each(@exclude))
         AND NOT EXISTS (SELECT 1 FROM handled INDEXED BY handled_by_tag WHERE handled.consumer = @consumer AND handled.tag = tagged.tag)`,
    )
    .get({
      afterSeq: options.afterSeq,
      fetchedBy: options.fetchedBy ?? null,
      exclude: JSON.stringify(options.exclude),
      consumer,
      ...bounds,
    }) as { n: number };
  return row.n;
}
