/**
 * Delivers inbox rows to a consumer exactly once, in `seq` order (DESIGN.md §4.5).
 *
 * Runtime: node. Rows are delivered in chunks of up to `CHUNK_ROWS`: one `BEGIN IMMEDIATE` transaction per
 * chunk, and inside it one SAVEPOINT per row (better-sqlite3's nested transaction) that runs the handler (which
 * writes its own durable effects through the `db` it is given) and advances the cursor past that row. So every
 * row's effect and its cursor move are durable together or not at all, exactly as if each row had its own
 * transaction, but a chunk pays for one commit (one fsync at `synchronous = FULL`) instead of one per row; a
 * notifier consuming its backlog row by row competed with the main process's batch commits for the write lock
 * and the disk.
 *
 * What each kind of failure leaves behind:
 * - A handler (or the `afterEffect` hook) that throws: only that row's savepoint is rolled back. The rows before
 *   it in the chunk are committed, the cursor stays at the last of them, and then the error is rethrown. The
 *   failing row is delivered again by the next call. This is what per-row transactions gave, row for row.
 * - A crash (SIGKILL, power loss) inside a chunk: the whole uncommitted chunk is rolled back, effects and cursor
 *   alike, and every row of it is delivered again next time. Nothing is lost and nothing kept in this database
 *   is applied twice; only the redelivery is longer than one row.
 * That is "exactly once" for effects kept in this database; an effect outside it (showing a notification) is
 * at-least-once and should be idempotent.
 *
 * The handler must be synchronous: a transaction cannot stay open across an `await` (better-sqlite3 refuses
 * async transaction functions for the same reason), so a handler returning a Promise is a programmer error and
 * throws after its row was rolled back.
 */
import type { Database } from 'better-sqlite3';
import type { Clock } from '../shared/clock';
import { systemClock } from '../shared/clock';
import { advanceCursor, readCursor, registerConsumer } from './cursors';
import { skipPastWindow } from './inbox-compaction';
import type { InboxDbRow, InboxRow } from './inbox';
import { INBOX_COLUMNS, toInboxRow } from './inbox';
import type { ClientStore } from './open-store';
import type { RowLimit } from './retention-policy';

export type ConsumeHandler = (row: InboxRow, db: Database) => void;

/** Most rows delivered in one transaction. Bounds how long the write lock is held and how much a crash redelivers. */
export const CHUNK_ROWS = 64;

export interface ConsumeOptions {
  /** Upper bound on rows looked at in this call. Default 100. */
  maxRows?: number;
  /** Most rows per transaction. Default `CHUNK_ROWS`. */
  chunkRows?: number;
  /**
   * Only rows fetched by this process are handed to the handler; the cursor moves past the others unhandled.
   * The `legacy` strategy uses it to model real legacy clients, whose notification process kept what it synced
   * to itself (the main app never saw it, which is failure F1).
   */
  fetchedBy?: string;
  clock?: Clock;
  /** Called inside the row's savepoint after the handler and before the cursor moves (kill point hook). */
  afterEffect?: (row: InboxRow) => void;
  /**
   * The consumer needs recent rows only (the notifier): rows this limit leaves behind are passed over first,
   * counted as skipped, with their room keys still stored (see `skipPastWindow`). Never given for `main`.
   */
  window?: RowLimit;
}

export interface ConsumeSummary {
  handled: number;
  skipped: number;
  /** Rows passed over because they were older than the consumer's window. */
  skippedByWindow: number;
  /** The consumer's cursor after this call. */
  cursor: number;
}

interface ChunkOutcome {
  handled: number;
  skipped: number;
  cursor: number;
  /** Fewer rows than asked for were there: the consumer has caught up. */
  exhausted: boolean;
  /** The error of the row that failed; the rows before it are committed with the chunk. */
  failure: { error: unknown } | undefined;
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
  const skippedByWindow =
    options.window === undefined
      ? 0
      : skipPastWindow(store, consumer, options.window, { nowMs: clock.nowMs(), ...(options.fetchedBy === undefined ? {} : { fetchedBy: options.fetchedBy }) });
  const summary: ConsumeSummary = { handled: 0, skipped: 0, skippedByWindow, cursor: readCursor(store, consumer) ?? 0 };
  // Bounded: every pass looks at least one row or ends the loop.
  for (let looked = 0; looked < maxRows; ) {
    const limit = Math.min(options.chunkRows ?? CHUNK_ROWS, maxRows - looked);
    const chunk = store.immediate(() => deliverChunk(store, consumer, handler, options, clock, limit));
    summary.handled += chunk.handled;
    summary.skipped += chunk.skipped;
    summary.cursor = chunk.cursor;
    looked += chunk.handled + chunk.skipped;
    // Rethrown only now, after the commit of the rows before the failing one.
    if (chunk.failure !== undefined) throw chunk.failure.error;
    if (chunk.exhausted || chunk.handled + chunk.skipped === 0) break;
  }
  return summary;
}

/**
 * Up to `limit` rows after the cursor, each in its own savepoint, inside the caller's transaction. The cursor is
 * read here, under the write lock, so two callers never both handle a row.
 */
function deliverChunk(
  store: ClientStore,
  consumer: string,
  handler: ConsumeHandler,
  options: ConsumeOptions,
  clock: Clock,
  limit: number,
): ChunkOutcome {
  const cursor = readCursor(store, consumer) ?? 0;
  const rows = store
    .statement(`SELECT ${INBOX_COLUMNS} FROM inbox WHERE seq > ? ORDER BY seq LIMIT ?`)
    .all(cursor, limit) as InboxDbRow[];
  const outcome: ChunkOutcome = { handled: 0, skipped: 0, cursor, exhausted: rows.length < limit, failure: undefined };
  const inSavepoint = store.db.transaction((dbRow: InboxDbRow) => deliverRow(store, consumer, handler, options, clock, dbRow));
  for (const dbRow of rows) {
    let delivered: boolean;
    try {
      delivered = inSavepoint(dbRow);
    } catch (error) {
      // An error that made SQLite abandon the whole transaction leaves nothing to commit: rethrow it as it is.
      if (!store.db.inTransaction) throw error;
      outcome.failure = { error };
      return outcome;
    }
    outcome[delivered ? 'handled' : 'skipped'] += 1;
    outcome.cursor = dbRow.seq;
  }
  return outcome;
}

/** One row inside its savepoint: the effect, the kill point hook, the cursor move. Returns whether it was handed over. */
function deliverRow(
  store: ClientStore,
  consumer: string,
  handler: ConsumeHandler,
  options: ConsumeOptions,
  clock: Clock,
  dbRow: InboxDbRow,
): boolean {
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
  return delivered;
}

function isThenable(value: unknown): boolean {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
