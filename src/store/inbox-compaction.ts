/**
 * Inbox compaction: rows leave once every consumer that must see them has passed them (DESIGN.md §4.5, §10).
 *
 * Runtime: node. Two bounded operations, each one short `BEGIN IMMEDIATE` transaction:
 * - `compactInbox` deletes rows at or below the boundary: the lowest cursor of every registered consumer and of
 *   `main`, which counts as cursor 0 until it registers, so no row is ever deleted before the app's own consumer
 *   handled it. Of the rows every consumer passed, the newest few stay while the `inbox` limit allows (the
 *   dashboard and `todevice inbox` show what just arrived). A row still ahead of any cursor is never deleted, so
 *   whatever a consumer has not handled yet (a room key that only `roomKeyInInbox` can find, say) stays. Nor is a
 *   row that waits for its sender's device keys to be decrypted again (`AWAITING_SENDER_HOLD_MS`).
 * - `skipPastWindow` moves a windowed consumer's cursor (the notifier's) over rows older than its window, so a
 *   notifier that has not run for days does not hold the inbox for ever. Those rows are not handed to it: they
 *   are counted as skipped (`cursor:<consumer>` / `window_skipped`). Room keys among them are stored for it all
 *   the same, since a key is not a message that goes stale: it decrypts every message of its session, new ones
 *   included. `fetchedBy` keeps the `legacy` rule (a legacy process only ever saw what it fetched itself).
 *   `main` has no window: it is refused here, because `main` never skips a row.
 * Both leave every cursor meaningful: `seq` comes from AUTOINCREMENT, so a deleted row's number is never reused.
 */
import { parseRoomKeyContent, ROOM_KEY_EVENT_TYPE } from '../shared/room-key-protocol';
import { MAIN_CONSUMER, advanceCursor, readCursor } from './cursors';
import { INBOX_COLUMNS, toInboxRow, type InboxDbRow } from './inbox';
import type { ClientStore } from './open-store';
import type { RowLimit } from './retention-policy';
import { retentionCut, type KeyedTable } from './retention-cut';
import { storeRoomKey } from './room-keys';
import { addToCounter, setCounter } from './store-counters';

/**
 * Most rows one call deletes or skips: bounds how long it holds the write lock (about 4 ms for 1,000 rows here,
 * README "What compaction costs the commit path"). Once a second, that is 3.6 million rows an hour, far more
 * than a device receives, so a backlog is compacted within minutes of being handled.
 */
export const COMPACTION_BATCH_ROWS = 1000;
/**
 * How long a row stays that is still encrypted because its sender's device was not known yet (`unknown-device`)
 * and that no retry has settled: it is decrypted again, and only then handled for what it is, once `/keys/query`
 * answers (src/device/olm-device.ts), so deleting it would lose the room key it carries. A sender that never
 * publishes its keys cannot hold the inbox for ever: after a week the row goes like any other.
 */
export const AWAITING_SENDER_HOLD_MS = 7 * 24 * 60 * 60 * 1000;
/** Most rows one call reads to find where an age limit ends. */
const AGE_SCAN_ROWS = 10_000;

export const INBOX_SCOPE = 'inbox';
export const MAINTENANCE_SCOPE = 'maintenance';
export function cursorScope(consumer: string): string {
  return `cursor:${consumer}`;
}

export interface CompactOptions {
  /** The `inbox` limit: how many of the rows every consumer passed stay. */
  limit: RowLimit;
  nowMs: number;
  maxRows?: number;
}

export interface CompactOutcome {
  deleted: number;
  /** Nothing more is deletable now (this call did not stop at its bound). */
  caughtUp: boolean;
}

/** The highest `seq` every consumer that must see a row has passed (0: none). */
export function passedByEveryConsumer(store: ClientStore): number {
  const row = store.statement('SELECT min(seq) AS lowest FROM cursors').get() as { lowest: number | null };
  const main = readCursor(store, MAIN_CONSUMER) ?? 0;
  return Math.min(main, row.lowest ?? main);
}

export function compactInbox(store: ClientStore, options: CompactOptions): CompactOutcome {
  const maxRows = options.maxRows ?? COMPACTION_BATCH_ROWS;
  // Found before the write lock is taken: cursors only move forward and rows are only appended, so the boundary
  // can only have grown by the time the transaction runs, and deleting up to it stays safe.
  const upTo = deletableUpTo(store, options);
  if (upTo <= 0) return { deleted: 0, caughtUp: true };
  return store.immediate((): CompactOutcome => {
    const first = store.statement('SELECT min(seq) AS seq FROM inbox').get() as { seq: number | null };
    if (first.seq === null || upTo < first.seq) return { deleted: 0, caughtUp: true };
    const bound = store.statement('SELECT seq FROM inbox WHERE seq <= ? ORDER BY seq LIMIT 1 OFFSET ?').get(upTo, maxRows - 1) as
      | { seq: number }
      | undefined;
    const last = Math.min(upTo, bound?.seq ?? upTo);
    const deleted = store
      .statement(
        `DELETE FROM inbox WHERE seq <= ?
           AND NOT (decryption_error IS 'unknown-device' AND decryption_resolved_by_seq IS NULL AND received_at_ms >= ?)`,
      )
      .run(last, options.nowMs - AWAITING_SENDER_HOLD_MS).changes;
    addToCounter(store, INBOX_SCOPE, 'deleted', deleted);
    setCounter(store, MAINTENANCE_SCOPE, 'last_compaction_at_ms', options.nowMs);
    return { deleted, caughtUp: last === upTo };
  });
}

function deletableUpTo(store: ClientStore, options: CompactOptions): number {
  const passed = passedByEveryConsumer(store);
  if (passed <= 0) return 0;
  return Math.min(passed, retentionCut(inboxTable(store), options.limit, { nowMs: options.nowMs, afterKey: 0, scanRows: AGE_SCAN_ROWS }));
}

export interface WindowOptions {
  nowMs: number;
  /** Under `legacy`: only rows this process fetched would have been handed to the consumer. */
  fetchedBy?: string;
  maxRows?: number;
}

/**
 * Moves `consumer`'s cursor past the rows its window leaves behind (at most `maxRows` per call), storing the
 * room keys among them for it. Returns how many rows it passed over. An unregistered consumer holds nothing
 * back and is left alone; it starts inside its window when it registers (the notifier applies it on consume).
 */
export function skipPastWindow(store: ClientStore, consumer: string, window: RowLimit, options: WindowOptions): number {
  if (consumer === MAIN_CONSUMER) throw new Error('the main consumer has no window: it never skips a row');
  if (windowTarget(store, consumer, window, options) === undefined) return 0;
  return store.immediate((): number => {
    const cursor = readCursor(store, consumer);
    const target = windowTarget(store, consumer, window, options);
    if (cursor === undefined || target === undefined) return 0;
    storeSkippedRoomKeys(store, consumer, { after: cursor, upTo: target, ...options });
    const skipped = (store.statement('SELECT count(*) AS n FROM inbox WHERE seq > ? AND seq <= ?').get(cursor, target) as { n: number }).n;
    advanceCursor(store, consumer, target, options.nowMs);
    addToCounter(store, cursorScope(consumer), 'window_skipped', skipped);
    return skipped;
  });
}

/** The `seq` the consumer's cursor should move to, or undefined when it is inside its window. */
function windowTarget(store: ClientStore, consumer: string, window: RowLimit, options: WindowOptions): number | undefined {
  const cursor = readCursor(store, consumer);
  if (cursor === undefined) return undefined;
  const cut = retentionCut(inboxTable(store), window, { nowMs: options.nowMs, afterKey: cursor, scanRows: AGE_SCAN_ROWS });
  if (cut <= cursor) return undefined;
  const bound = store.statement('SELECT seq FROM inbox WHERE seq > ? ORDER BY seq LIMIT 1 OFFSET ?').get(cursor, (options.maxRows ?? COMPACTION_BATCH_ROWS) - 1) as
    | { seq: number }
    | undefined;
  return Math.min(cut, bound?.seq ?? cut);
}

function storeSkippedRoomKeys(store: ClientStore, consumer: string, range: { after: number; upTo: number; nowMs: number; fetchedBy?: string }): void {
  const rows = store
    .statement(
      `SELECT ${INBOX_COLUMNS} FROM inbox
       WHERE seq > ? AND seq <= ? AND type = ? AND (? IS NULL OR fetched_by_process = ?) ORDER BY seq`,
    )
    .all(range.after, range.upTo, ROOM_KEY_EVENT_TYPE, range.fetchedBy ?? null, range.fetchedBy ?? null) as InboxDbRow[];
  for (const row of rows.map(toInboxRow)) {
    const key = parseRoomKeyContent(row.content);
    if (key.ok) storeRoomKey(store.db, consumer, row, key.value, range.nowMs);
  }
}

function inboxTable(store: ClientStore): KeyedTable {
  return {
    keyBeyondNewest: (n) => (store.statement('SELECT seq FROM inbox ORDER BY seq DESC LIMIT 1 OFFSET ?').get(n) as { seq: number } | undefined)?.seq,
    oldestAfter: function* (afterKey, limit) {
      const rows = store.statement('SELECT seq, received_at_ms FROM inbox WHERE seq > ? ORDER BY seq LIMIT ?').iterate(afterKey, limit);
      for (const row of rows as IterableIterator<{ seq: number; received_at_ms: number }>) yield { key: row.seq, atMs: row.received_at_ms };
    },
  };
}
