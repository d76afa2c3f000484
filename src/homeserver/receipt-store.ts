/**
 * SQLite access for read receipts: the latest receipt of each (room, type, user, thread), on one global
 * receipt stream.
 *
 * Runtime: node (homeserver only).
 *
 * A receipt is only ever moved forward in the stream (replaced with a higher stream id), so sync can send the
 * receipts of a room that changed after a position as one `m.receipt` event, the shape `/sync` and the sliding
 * sync receipts extension carry. `m.read.private` receipts are returned only to their own user, as the spec
 * requires. Writes join the caller's transaction.
 */
import type { Db } from './db';
import type { JsonObject } from './json-checks';

export const RECEIPT_TYPES = ['m.read', 'm.read.private'] as const;
export type ReceiptType = (typeof RECEIPT_TYPES)[number];

interface ReceiptRow {
  receipt_type: string;
  user_id: string;
  thread_id: string;
  event_id: string;
  ts: number;
}

export class ReceiptStore {
  private readonly statements;

  constructor(db: Db) {
    this.statements = {
      upsert: db.prepare(
        `INSERT INTO receipts (room_id, receipt_type, user_id, thread_id, event_id, ts, stream_id)
         VALUES (?, ?, ?, ?, ?, ?, (SELECT coalesce(max(stream_id), 0) + 1 FROM receipts))
         ON CONFLICT (room_id, receipt_type, user_id, thread_id) DO UPDATE SET
           event_id = excluded.event_id, ts = excluded.ts, stream_id = excluded.stream_id`,
      ),
      since: db.prepare(
        'SELECT receipt_type, user_id, thread_id, event_id, ts FROM receipts WHERE room_id = ? AND stream_id > ? ORDER BY stream_id',
      ),
      position: db.prepare('SELECT coalesce(max(stream_id), 0) AS position FROM receipts'),
    };
  }

  set(roomId: string, type: ReceiptType, userId: string, threadId: string, eventId: string): void {
    this.statements.upsert.run(roomId, type, userId, threadId, eventId, Date.now());
  }

  /** The room's receipts changed after `position`, as one `m.receipt` event for `viewer`, or undefined. */
  receiptEvent(roomId: string, position: number, viewer: string): { type: 'm.receipt'; content: JsonObject } | undefined {
    const rows = (this.statements.since.all(roomId, position) as ReceiptRow[]).filter(
      (row) => row.receipt_type !== 'm.read.private' || row.user_id === viewer,
    );
    if (rows.length === 0) return undefined;
    const content: Record<string, Record<string, Record<string, JsonObject>>> = {};
    for (const row of rows) {
      const byType = (content[row.event_id] ??= {});
      const byUser = (byType[row.receipt_type] ??= {});
      byUser[row.user_id] = row.thread_id === '' ? { ts: row.ts } : { ts: row.ts, thread_id: row.thread_id };
    }
    return { type: 'm.receipt', content };
  }

  /** The latest position of the receipt stream. */
  position(): number {
    return (this.statements.position.get() as { position: number }).position;
  }
}
