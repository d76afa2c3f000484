/**
 * The homeserver's own tables, kept bounded: transaction-ID records after their window, sliding sync connections
 * nobody used for a week (with what they recorded).
 *
 * Runtime: node (homeserver only). What grows, and what bounds it:
 * - `transactions`: one record per (user, device, scope, txnId). A record only has to outlive the client's
 *   retries of that request, so it is kept for a window, as Synapse does: 30 minutes for `sendToDevice`
 *   (Synapse's `HttpTransactionCache`, synapse/rest/client/transactions.py, `CLEANUP_PERIOD = 30 minutes`: an
 *   entry lives at least 30 and at most 60 minutes), 24 hours for room sends (Synapse's `event_txn_id_device_id`,
 *   synapse/storage/databases/main/events_worker.py, `_cleanup_old_transaction_ids`: "older than 24hrs"). Within
 *   the window a retry is answered from the record and changes nothing; after it, the same txnId is a new
 *   request.
 * - `sliding_sync_connections`: deleted, with their room-send records, once unused for 7 days (Synapse's
 *   `CONNECTION_EXPIRY`, synapse/storage/databases/main/sliding_sync.py). A `pos` is stateless
 *   (sliding-sync-pos.ts), so issuing one stores nothing; one of a deleted connection gets `M_UNKNOWN_POS`,
 *   which a client answers by opening a new connection with its last `next_batch` (MSC4538), so nothing is lost.
 * - Pushes are not stored: PushSender holds only deliveries in flight (bounded by their attempts and timeouts).
 * A pass deletes at most `PRUNE_BATCH_ROWS` rows per table in one short transaction; the homeserver runs one
 * every `intervalMs` and the admin surface can run one on demand.
 */
import { immediate, type Db } from './db';

export interface ServerRetention {
  toDeviceTxnMs: number;
  roomSendTxnMs: number;
  idleConnectionMs: number;
}

export const DEFAULT_SERVER_RETENTION: ServerRetention = {
  toDeviceTxnMs: 30 * 60 * 1000,
  roomSendTxnMs: 24 * 60 * 60 * 1000,
  idleConnectionMs: 7 * 24 * 60 * 60 * 1000,
};

export const DEFAULT_PRUNE_INTERVAL_MS = 60_000;
const PRUNE_BATCH_ROWS = 5000;

export interface PruneCounts {
  transactions: number;
  slidingSyncConnections: number;
  /** Room-send records (sliding-sync-rooms.ts) deleted with those connections. */
  slidingSyncRoomSends: number;
}

export class ServerPruner {
  private readonly statements;

  constructor(
    private readonly db: Db,
    private readonly retention: ServerRetention = DEFAULT_SERVER_RETENTION,
  ) {
    this.statements = {
      // `scope` starts with `sendToDevice/` or `rooms/`: each family has its own window. One statement each, so
      // each walks the `created_ts` index over old rows only.
      toDeviceTransactions: db.prepare(
        `DELETE FROM transactions WHERE rowid IN (
           SELECT rowid FROM transactions WHERE created_ts < ? AND scope LIKE 'sendToDevice/%' LIMIT ?)`,
      ),
      otherTransactions: db.prepare(
        `DELETE FROM transactions WHERE rowid IN (
           SELECT rowid FROM transactions WHERE created_ts < ? AND scope NOT LIKE 'sendToDevice/%' LIMIT ?)`,
      ),
      idleConnections: db.prepare('SELECT connection_id FROM sliding_sync_connections WHERE last_used_ts < ? LIMIT ?'),
      deleteRoomSends: db.prepare('DELETE FROM sliding_sync_room_sends WHERE connection_id = ?'),
      deleteConnection: db.prepare('DELETE FROM sliding_sync_connections WHERE connection_id = ?'),
    };
  }

  /** One bounded pass, as if the clock read `nowMs`. */
  prune(nowMs: number): PruneCounts {
    return immediate(this.db, () => {
      const transactions =
        this.statements.toDeviceTransactions.run(nowMs - this.retention.toDeviceTxnMs, PRUNE_BATCH_ROWS).changes +
        this.statements.otherTransactions.run(nowMs - this.retention.roomSendTxnMs, PRUNE_BATCH_ROWS).changes;
      const idle = this.statements.idleConnections.all(nowMs - this.retention.idleConnectionMs, PRUNE_BATCH_ROWS) as Array<{ connection_id: number }>;
      let slidingSyncRoomSends = 0;
      for (const { connection_id: id } of idle) {
        slidingSyncRoomSends += this.statements.deleteRoomSends.run(id).changes;
        this.statements.deleteConnection.run(id);
      }
      return { transactions, slidingSyncConnections: idle.length, slidingSyncRoomSends };
    });
  }
}
