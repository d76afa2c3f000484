/**
 * Delivers inbox rows to a consumer exactly once, in `seq` order (DESIGN.md §4.5).
 *
 * Runtime: node. For each row one `BEGIN IMMEDIATE` transaction runs the handler (which writes its own durable
 * effects through the `db` it is given) and advances the cursor. Either both are durable or neither is: a crash
 * or a throwing handler between the effect and the cursor move rolls the effect back too, and the row is
 * delivered again next time. That is "exactly once" for effects kept in this database; an effect outside it
 * (showing a notification) is at-least-once and should be idempotent.
 *
 * The handler must be synchronous: a transaction cannot stay open across an `await` (better-sqlite3 refuses
 * async transaction functions for the same reason), so a handler returning a Promise is a programmer error and
 * throws after rolling back.
 */
import type { Database } from 'better-sqlite3';
import type { Clock } from '../shared/clock';
import { systemClock } from '../shared/clock';
import { advanceCursor, readCursor, registerConsumer } from './cursors';
import type { InboxDbRow, InboxRow } from './inbox';
import { INBOX_COLUMNS, toInboxRow } from './inbox';
import type { ClientStore } from './open-store';

export type ConsumeHandler = (row: InboxRow, db: Database) => void;

export interface ConsumeOptions {
  /** Upper bound on rows looked at in this call. Default 100. */
  maxRows?: number;
  /**
   * Only rows fetched by this process are handed to the handler; the cursor moves past the others unhandled.
   * The `legacy` strategy uses it to model real legacy clients, whose notification process kept what it synced
   * to itself (the main app never saw it, which is failure F1).
   */
  fetchedBy?: string;
  clock?: Clock;
  /** Called inside the transaction after the handler and before the cursor moves (kill point hook). */
  afterEffect?: (row: InboxRow) => void;
}

export interface ConsumeSummary {
  handled: number;
  skipped: number;
  /** The consumer's cursor after this call. */
  cursor: number;
}

export function consume(
  store: ClientStore,
  consumer: string,
  handler: ConsumeHandler,
  options: ConsumeOptions = {},
): ConsumeSummary {
  const clock = options.clock ?? systemClock;
  const maxRows = options.maxRows ?? 100;
  registerConsumer(store, consumer, clock);
  const summary: ConsumeSummary = { handled: 0, skipped: 0, cursor: readCursor(store, consumer) ?? 0 };
  for (let looked = 0; looked < maxRows; looked += 1) {
    const outcome = store.db.transaction(() => deliverNext(store, consumer, handler, options, clock)).immediate();
    if (outcome === 'empty') break;
    summary[outcome.delivered ? 'handled' : 'skipped'] += 1;
    summary.cursor = outcome.seq;
  }
  return summary;
}

/** One row, inside the caller's transaction. The cursor is re-read here, so two callers never both handle it. */
function deliverNext(
  store: ClientStore,
  consumer: string,
  handler: ConsumeHandler,
  options: ConsumeOptions,
  clock: Clock,
): 'empty' | { seq: number; delivered: boolean } {
  const cursor = readCursor(store, consumer) ?? 0;
  const dbRow = store
    .statement(`SELECT ${INBOX_COLUMNS} FROM inbox WHERE seq > ? ORDER BY seq LIMIT 1`)
    .get(cursor) as InboxDbRow | undefined;
  if (dbRow === undefined) return 'empty';
  const row = toInboxRow(dbRow);
  const delivered = options.fetchedBy === undefined || options.fetchedBy === row.fetchedByProcess;
  if (delivered) {
    const returned: unknown = handler(row, store.db);
    if (isThenable(returned)) {
      throw new Error(`consume(${consumer}): the handler returned a Promise; handlers must be synchronous`);
    }
    options.afterEffect?.(row);
  }
  advanceCursor(store, consumer, row.seq, clock.nowMs());
  return { seq: row.seq, delivered };
}

function isThenable(value: unknown): boolean {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Deletes inbox rows that every registered consumer has handled (at or below the smallest cursor). With no
 * registered consumer nothing is deleted: rows nobody has claimed are kept rather than guessed away.
 * Returns the number of rows deleted.
 */
export function compactInbox(store: ClientStore): number {
  const info = store
    .statement(
      `DELETE FROM inbox
       WHERE EXISTS (SELECT 1 FROM cursors) AND seq <= (SELECT min(seq) FROM cursors)`,
    )
    .run();
  return info.changes;
}
