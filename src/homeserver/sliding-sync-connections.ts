/**
 * Sliding sync connections: the `pos` values issued per (user, device, conn_id) and the sticky `to_device` and
 * `e2ee` extension settings.
 *
 * Runtime: node (homeserver only).
 *
 * Guarantees:
 * - A request without `pos` starts a new connection, replacing any earlier one with the same (user, device,
 *   conn_id); the old connection's `pos` values become unknown, as in Synapse.
 * - A `pos` is known only to the connection that was issued it; any other gets 400 `M_UNKNOWN_POS` (MSC3575).
 * - The last few `pos` values of a connection stay valid, so a client retrying after a lost response (it still
 *   holds the previous `pos`) is served rather than reset.
 * - MSC3885 makes `enabled` and `limit` sticky per connection; Synapse sends them on every request. Both work:
 *   a value in the request replaces the sticky one, an absent value keeps it. Which extension key(s) the client
 *   used is sticky too, so the answer comes back under the key the client understands.
 * - The `e2ee` extension's `enabled` (MSC3884) is sticky the same way.
 * - Each `pos` remembers the device list stream position its response was computed at, so the next request
 *   with it reports exactly the key changes made after (see device-list-stream.ts).
 * - Sticky room subscriptions live on the connection row too, so a request learns whether it has any from the
 *   row it already read; what else sliding sync keeps for rooms is in sliding-sync-rooms.ts.
 * - `expire-pos` (admin fault) deletes every position issued to a device, so the next use of any of them gets
 *   `M_UNKNOWN_POS` (DESIGN.md F12). All of this is in SQLite and survives a restart.
 * - Bounded: a connection keeps `POSITIONS_KEPT` positions, and a connection unused for a week is deleted with
 *   them (src/homeserver/retention.ts), as Synapse does; its client's next request gets `M_UNKNOWN_POS` and
 *   opens a new connection. `last_used_ts` is refreshed at most every `LAST_USED_REFRESH_MS` (Synapse's
 *   `UPDATE_INTERVAL_LAST_USED_TS`, 5 minutes), so a busy connection costs no extra write per request.
 */
import { randomBytes } from 'node:crypto';
import { ErrCode } from '../shared/matrix-errors';
import { immediate, type Db } from './db';
import { MatrixError } from './errors';

/** How many of a connection's most recent `pos` values stay usable. */
export const POSITIONS_KEPT = 5;
const LAST_USED_REFRESH_MS = 5 * 60 * 1000;

export interface ConnectionState {
  connectionId: number;
  toDeviceEnabled: boolean;
  toDeviceLimit: number | undefined;
  /** Extension keys the client used (`to_device`, `org.matrix.msc4538.to_device`). */
  toDeviceKeys: string[];
  e2eeEnabled: boolean;
  /** Sticky room subscriptions as stored (see sliding-sync-rooms.ts); null when the connection has none. */
  roomSubscriptions: string | null;
}

/** A connection continued from a `pos`, with the device list position that `pos` stands for. */
export interface KnownPosition {
  state: ConnectionState;
  deviceListStreamId: number;
}

interface ConnectionRow {
  connection_id: number;
  user_id: string;
  device_id: string;
  conn_id: string;
  to_device_enabled: number;
  to_device_limit: number | null;
  to_device_keys: string;
  e2ee_enabled: number;
  room_subscriptions: string | null;
}

export class SlidingSyncConnections {
  private readonly statements;

  constructor(private readonly db: Db) {
    this.statements = {
      byPos: db.prepare(
        `SELECT c.*, p.device_list_stream_id FROM sliding_sync_positions p
         JOIN sliding_sync_connections c USING (connection_id) WHERE p.pos = ?`,
      ),
      byConnId: db.prepare(
        'SELECT connection_id FROM sliding_sync_connections WHERE user_id = ? AND device_id = ? AND conn_id = ?',
      ),
      stickyDelivery: db.prepare(
        'SELECT to_device_enabled, e2ee_enabled FROM sliding_sync_connections WHERE user_id = ? AND device_id = ? AND conn_id = ?',
      ),
      deleteConnection: db.prepare('DELETE FROM sliding_sync_connections WHERE connection_id = ?'),
      deletePositions: db.prepare('DELETE FROM sliding_sync_positions WHERE connection_id = ?'),
      insertConnection: db.prepare(
        'INSERT INTO sliding_sync_connections (user_id, device_id, conn_id, last_used_ts) VALUES (?, ?, ?, ?)',
      ),
      touch: db.prepare('UPDATE sliding_sync_connections SET last_used_ts = ? WHERE connection_id = ? AND last_used_ts < ?'),
      updateSticky: db.prepare(
        `UPDATE sliding_sync_connections SET to_device_enabled = ?, to_device_limit = ?, to_device_keys = ?, e2ee_enabled = ?
         WHERE connection_id = ?`,
      ),
      maxSeq: db.prepare('SELECT coalesce(max(issued_seq), 0) AS seq FROM sliding_sync_positions WHERE connection_id = ?'),
      insertPos: db.prepare(
        'INSERT INTO sliding_sync_positions (pos, connection_id, issued_seq, device_list_stream_id, room_positions) VALUES (?, ?, ?, ?, ?)',
      ),
      prunePos: db.prepare('DELETE FROM sliding_sync_positions WHERE connection_id = ? AND issued_seq <= ?'),
      expireDevice: db.prepare(
        `DELETE FROM sliding_sync_positions WHERE connection_id IN
         (SELECT connection_id FROM sliding_sync_connections WHERE user_id = ? AND device_id = ?)`,
      ),
    };
  }

  /** The connection a `pos` belongs to; 400 `M_UNKNOWN_POS` unless it was issued to this very connection. */
  lookup(userId: string, deviceId: string, connId: string, pos: string): KnownPosition {
    const row = this.statements.byPos.get(pos) as (ConnectionRow & { device_list_stream_id: number }) | undefined;
    if (row === undefined || row.user_id !== userId || row.device_id !== deviceId || row.conn_id !== connId) {
      throw new MatrixError(400, ErrCode.unknownPos, 'unknown pos: start a new connection without pos');
    }
    return { state: toState(row), deviceListStreamId: row.device_list_stream_id };
  }

  /** Whether the connection (user, device, conn_id) has `to_device` or `e2ee` enabled (sticky); false when there is none. */
  deliversToDevice(userId: string, deviceId: string, connId: string): boolean {
    const row = this.statements.stickyDelivery.get(userId, deviceId, connId) as { to_device_enabled: number; e2ee_enabled: number } | undefined;
    return row !== undefined && (row.to_device_enabled === 1 || row.e2ee_enabled === 1);
  }

  /** Starts a fresh connection for (user, device, conn_id), forgetting any earlier one and its positions. */
  open(userId: string, deviceId: string, connId: string): ConnectionState {
    return immediate(this.db, () => {
      const old = this.statements.byConnId.get(userId, deviceId, connId) as { connection_id: number } | undefined;
      if (old !== undefined) {
        this.statements.deletePositions.run(old.connection_id);
        this.statements.deleteConnection.run(old.connection_id);
      }
      const info = this.statements.insertConnection.run(userId, deviceId, connId, Date.now());
      return {
        connectionId: Number(info.lastInsertRowid),
        toDeviceEnabled: false,
        toDeviceLimit: undefined,
        toDeviceKeys: [],
        e2eeEnabled: false,
        roomSubscriptions: null,
      };
    });
  }

  saveSticky(state: ConnectionState): void {
    this.statements.updateSticky.run(
      state.toDeviceEnabled ? 1 : 0,
      state.toDeviceLimit ?? null,
      JSON.stringify(state.toDeviceKeys),
      state.e2eeEnabled ? 1 : 0,
      state.connectionId,
    );
  }

  /**
   * Issues the next `pos` of a connection, standing for device list position `deviceListStreamId`, keeping only
   * the last few valid. `roomPositions` are the room-side stream positions the response brought the client up
   * to, on a connection that asked for rooms.
   */
  issuePos(connectionId: number, deviceListStreamId: number, roomPositions: string | null = null): { pos: string; seq: number } {
    return immediate(this.db, () => {
      const { seq } = this.statements.maxSeq.get(connectionId) as { seq: number };
      const pos = randomBytes(12).toString('base64url');
      this.statements.insertPos.run(pos, connectionId, seq + 1, deviceListStreamId, roomPositions);
      this.statements.prunePos.run(connectionId, seq + 1 - POSITIONS_KEPT);
      const nowMs = Date.now();
      this.statements.touch.run(nowMs, connectionId, nowMs - LAST_USED_REFRESH_MS);
      return { pos, seq: seq + 1 };
    });
  }

  /** The `expire-pos` fault: every position issued so far to this device becomes unknown. */
  expireDevice(userId: string, deviceId: string): void {
    this.statements.expireDevice.run(userId, deviceId);
  }
}

function toState(row: ConnectionRow): ConnectionState {
  const keys = JSON.parse(row.to_device_keys) as unknown;
  return {
    connectionId: row.connection_id,
    toDeviceEnabled: row.to_device_enabled === 1,
    toDeviceLimit: row.to_device_limit ?? undefined,
    toDeviceKeys: Array.isArray(keys) ? keys.filter((key): key is string => typeof key === 'string') : [],
    e2eeEnabled: row.e2ee_enabled === 1,
    roomSubscriptions: row.room_subscriptions,
  };
}
