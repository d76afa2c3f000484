/**
 * Per-consumer cursors over the inbox (DESIGN.md §4.5).
 *
 * Runtime: node. A cursor is the `seq` of the last inbox row its consumer has fully handled; 0 means none.
 * Cursors only move forward: a trigger in the schema aborts any update that would move one back, so a bug or a
 * stale process can never make a consumer handle a row twice by rewinding. A registered consumer holds back
 * compaction of every row after its cursor (src/store/inbox-compaction.ts), and so does `main` before it has
 * registered.
 */
import type { Clock } from '../shared/clock';
import { systemClock } from '../shared/clock';
import type { ClientStore } from './open-store';

/**
 * The app's own consumer. Every row must reach it: it is never skipped, and it holds back compaction even before
 * it has registered (a store whose notifier ran first must keep every row for it).
 */
export const MAIN_CONSUMER = 'main';

/** The notification process's consumer: it needs recent rows only, so a retention window bounds how far behind it may hold rows. */
export const NOTIFIER_CONSUMER = 'notifier';

export interface CursorRow {
  consumer: string;
  seq: number;
  updatedAtMs: number;
}

/** Creates the consumer's cursor at 0 if it has none; an existing cursor is kept. */
export function registerConsumer(store: ClientStore, consumer: string, clock: Clock = systemClock): void {
  store
    .statement('INSERT INTO cursors (consumer, seq, updated_at_ms) VALUES (?, 0, ?) ON CONFLICT (consumer) DO NOTHING')
    .run(consumer, clock.nowMs());
}

export function readCursor(store: ClientStore, consumer: string): number | undefined {
  const row = store.statement('SELECT seq FROM cursors WHERE consumer = ?').get(consumer) as { seq: number } | undefined;
  return row?.seq;
}

/**
 * Moves the cursor to `seq`. Throws if it would move backward (the schema trigger) or if the consumer is not
 * registered: both are programmer errors. Call inside the transaction that holds the consumer's effects.
 */
export function advanceCursor(store: ClientStore, consumer: string, seq: number, nowMs: number): void {
  const info = store
    .statement('UPDATE cursors SET seq = ?, updated_at_ms = ? WHERE consumer = ?')
    .run(seq, nowMs, consumer);
  if (info.changes !== 1) throw new Error(`consumer ${consumer} is not registered`);
}

export function listCursors(store: ClientStore): CursorRow[] {
  const rows = store.statement('SELECT consumer, seq, updated_at_ms FROM cursors ORDER BY consumer').all() as Array<{
    consumer: string;
    seq: number;
    updated_at_ms: number;
  }>;
  return rows.map((row) => ({ consumer: row.consumer, seq: row.seq, updatedAtMs: row.updated_at_ms }));
}

/** Removes a consumer so it no longer holds back compaction. */
export function unregisterConsumer(store: ClientStore, consumer: string): void {
  store.statement('DELETE FROM cursors WHERE consumer = ?').run(consumer);
}
