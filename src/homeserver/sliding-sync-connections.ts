/**
 * Sliding sync connections: one row per (user, device, conn_id) with the sticky `to_device` and `e2ee`
 * extension settings, and the checks a `pos` must pass. The `pos` values themselves are stateless
 * (sliding-sync-pos.ts): issuing one writes nothing.
 *
 * Runtime: node (homeserver only).
 *
 * Guarantees:
 * - A request without `pos` starts a new connection, replacing any earlier one with the same (user, device,
 *   conn_id); the old connection's `pos` values become unknown, as in Synapse (the new row has a new id and a
 *   new nonce, which the old values' MAC does not cover).
 * - A `pos` is known only to the connection that was issued it; any other gets 400 `M_UNKNOWN_POS` (MSC3575).
 * - A `pos` stays valid while fewer than `POSITIONS_KEPT` positions followed it on its connection, so a client
 *   retrying after a lost response (it still holds the previous `pos`) is served rather than reset, and one
 *   presenting a much older `pos` opens a new connection. How far a connection got is the highest `seq` a
 *   request presented (`acked_pos_seq`), recorded by that request in its own first transaction: a `pos` is
 *   valid when `seq > acked_pos_seq + 1 - POSITIONS_KEPT` (the newest issued is at most `acked_pos_seq + 1`).
 *   Retries of one `pos` do not push it out: each answer to them has the same depth.
 * - A `pos` "from the future" (a `seq` beyond `acked_pos_seq + 1`, a room-send record or a stream position the
 *   database has not reached: a database restored from an older copy) is unknown too.
 * - MSC3885 makes `enabled` and `limit` sticky per connection; Synapse sends them on every request. Both work:
 *   a value in the request replaces the sticky one, an absent value keeps it. Which extension key(s) the client
 *   used is sticky too, so the answer comes back under the key the client understands.
 * - The `e2ee` extension's `enabled` (MSC3884) is sticky the same way.
 * - Each `pos` carries the device list stream position its response was computed at, so the next request with
 *   it reports exactly the key changes made after (see device-list-stream.ts).
 * - Sticky room subscriptions live on the connection row too, so a request learns whether it has any from the
 *   row it already read; what else sliding sync keeps for rooms is in sliding-sync-rooms.ts.
 * - `expire-pos` (admin fault) draws a new nonce for every connection of a device, so the next use of any `pos`
 *   issued before gets `M_UNKNOWN_POS` (DESIGN.md F12). All of this is in SQLite and survives a restart.
 * - Nothing here is written in the transaction that answers a request (which, on the live path, is the sender's
 *   transaction: device-waiters.ts): the connection row is written in the request's first transaction
 *   (`saveSticky`: settings, `acked_pos_seq`, `last_used_ts`), before any long poll. `last_used_ts` is
 *   written only when it is `LAST_USED_GRANULARITY_MS` old: it moves the connection's entry in the index
 *   retention reads, a page of every drained batch's commit, and retention only asks whether a week passed.
 * - Bounded: one row per connection; a connection unused for a week is deleted with its room-send records
 *   (src/homeserver/retention.ts), as Synapse does; its client's next request gets `M_UNKNOWN_POS` and opens a
 *   new connection.
 */
import { randomBytes } from 'node:crypto';
import { ErrCode } from '../shared/matrix-errors';
import { immediate, type Db } from './db';
import { MatrixError } from './errors';
import { encodePositions, type RoomSidePositions } from './room-positions';
import { SlidingSyncPos, type PosFields } from './sliding-sync-pos';

/** How many of a connection's most recent `pos` values stay usable. */
export const POSITIONS_KEPT = 5;

/** How stale `last_used_ts` may be before a request writes it again (see the module header). */
export const LAST_USED_GRANULARITY_MS = 60_000;

export interface ConnectionState {
  connectionId: number;
  connId: string;
  /** Covered by every `pos` of the connection (sliding-sync-pos.ts); replaced by `expire-pos`. */
  posNonce: string;
  toDeviceEnabled: boolean;
  toDeviceLimit: number | undefined;
  /** Extension keys the client used (`to_device`, `org.matrix.msc4538.to_device`). */
  toDeviceKeys: string[];
  e2eeEnabled: boolean;
  /** Sticky room subscriptions as stored (see sliding-sync-rooms.ts); null when the connection has none. */
  roomSubscriptions: string | null;
  /** The connection's `last_used_ts` as read (or written when it was opened). */
  lastUsedMs: number;
}

/** A connection continued from a verified `pos`, with what that `pos` stands for. */
export interface KnownPosition {
  state: ConnectionState;
  seq: number;
  roomSeq: number;
  deviceListStreamId: number;
  roomPositions: RoomSidePositions | undefined;
}

/** Where the request stands: a verified `pos`, or the start of a new connection. */
export type PosBase = Pick<KnownPosition, 'seq' | 'roomSeq' | 'roomPositions'>;

export const NEW_CONNECTION: PosBase = { seq: 0, roomSeq: 0, roomPositions: undefined };

/** The stream positions a `pos` may not be ahead of. */
export interface CurrentPositions {
  deviceListStreamId: number;
  /** Read only for a `pos` that carries room-side positions. */
  rooms: () => RoomSidePositions;
}

interface ConnectionRow {
  connection_id: number;
  user_id: string;
  device_id: string;
  conn_id: string;
  pos_nonce: string;
  acked_pos_seq: number;
  room_seq: number;
  to_device_enabled: number;
  to_device_limit: number | null;
  to_device_keys: string;
  e2ee_enabled: number;
  room_subscriptions: string | null;
  last_used_ts: number;
}

export class SlidingSyncConnections {
  private readonly statements;
  private readonly positions: SlidingSyncPos;

  constructor(
    private readonly db: Db,
    tokenSecret: string,
  ) {
    this.positions = new SlidingSyncPos(tokenSecret);
    this.statements = {
      byId: db.prepare('SELECT * FROM sliding_sync_connections WHERE connection_id = ?'),
      byConnId: db.prepare(
        'SELECT connection_id FROM sliding_sync_connections WHERE user_id = ? AND device_id = ? AND conn_id = ?',
      ),
      stickyDelivery: db.prepare(
        'SELECT to_device_enabled, e2ee_enabled FROM sliding_sync_connections WHERE user_id = ? AND device_id = ? AND conn_id = ?',
      ),
      deleteConnection: db.prepare('DELETE FROM sliding_sync_connections WHERE connection_id = ?'),
      insertConnection: db.prepare(
        'INSERT INTO sliding_sync_connections (user_id, device_id, conn_id, pos_nonce, last_used_ts) VALUES (?, ?, ?, ?, ?)',
      ),
      updateSticky: db.prepare(
        `UPDATE sliding_sync_connections SET to_device_enabled = ?, to_device_limit = ?, to_device_keys = ?, e2ee_enabled = ?,
           acked_pos_seq = max(acked_pos_seq, ?), last_used_ts = ?
         WHERE connection_id = ?`,
      ),
      updateStickyKeepingUse: db.prepare(
        `UPDATE sliding_sync_connections SET to_device_enabled = ?, to_device_limit = ?, to_device_keys = ?, e2ee_enabled = ?,
           acked_pos_seq = max(acked_pos_seq, ?)
         WHERE connection_id = ?`,
      ),
      nextRoomSeq: db.prepare('UPDATE sliding_sync_connections SET room_seq = room_seq + 1 WHERE connection_id = ? RETURNING room_seq'),
      expireDevice: db.prepare(
        'UPDATE sliding_sync_connections SET pos_nonce = lower(hex(randomblob(12))) WHERE user_id = ? AND device_id = ?',
      ),
    };
  }

  /**
   * The connection a `pos` belongs to and what the `pos` stands for; 400 `M_UNKNOWN_POS` unless it was issued
   * to this very connection, is recent enough and is not from the future (see the module header). Read-only.
   */
  lookup(userId: string, deviceId: string, connId: string, pos: string, current: CurrentPositions): KnownPosition {
    const parsed = this.positions.parse(pos);
    const row = parsed === undefined ? undefined : (this.statements.byId.get(parsed.fields.connectionId) as ConnectionRow | undefined);
    if (parsed === undefined || row === undefined || row.user_id !== userId || row.device_id !== deviceId || row.conn_id !== connId) {
      throw unknownPos('unknown pos: start a new connection without pos');
    }
    if (!this.positions.verify({ userId, deviceId, connId, nonce: row.pos_nonce }, pos, parsed)) {
      throw unknownPos('unknown pos: start a new connection without pos');
    }
    const fields = parsed.fields;
    if (fields.seq <= row.acked_pos_seq + 1 - POSITIONS_KEPT) {
      throw unknownPos('pos too old: newer ones were issued since; start a new connection without pos');
    }
    if (fields.seq > row.acked_pos_seq + 1 || fields.roomSeq > row.room_seq || fields.deviceListStreamId > current.deviceListStreamId) {
      throw unknownPos('pos from the future: it is beyond any position issued; start a new connection without pos');
    }
    const roomPositions = fields.roomPositions === undefined ? undefined : notAhead(fields.roomPositions, current.rooms());
    return { state: toState(row), seq: fields.seq, roomSeq: fields.roomSeq, deviceListStreamId: fields.deviceListStreamId, roomPositions };
  }

  /** Whether the connection (user, device, conn_id) has `to_device` or `e2ee` enabled (sticky); false when there is none. */
  deliversToDevice(userId: string, deviceId: string, connId: string): boolean {
    const row = this.statements.stickyDelivery.get(userId, deviceId, connId) as { to_device_enabled: number; e2ee_enabled: number } | undefined;
    return row !== undefined && (row.to_device_enabled === 1 || row.e2ee_enabled === 1);
  }

  /** Starts a fresh connection for (user, device, conn_id), forgetting any earlier one and what it recorded. */
  open(userId: string, deviceId: string, connId: string): ConnectionState {
    return immediate(this.db, () => {
      const old = this.statements.byConnId.get(userId, deviceId, connId) as { connection_id: number } | undefined;
      // Its room-send records go with it (ON DELETE CASCADE).
      if (old !== undefined) this.statements.deleteConnection.run(old.connection_id);
      const posNonce = randomBytes(12).toString('hex');
      const lastUsedMs = Date.now();
      const info = this.statements.insertConnection.run(userId, deviceId, connId, posNonce, lastUsedMs);
      return {
        connectionId: Number(info.lastInsertRowid),
        connId,
        posNonce,
        toDeviceEnabled: false,
        toDeviceLimit: undefined,
        toDeviceKeys: [],
        e2eeEnabled: false,
        roomSubscriptions: null,
        lastUsedMs,
      };
    });
  }

  /**
   * In the request's first transaction: stores the sticky settings, records that the client reached
   * `presentedSeq` (the `seq` of the `pos` it presented, 0 for none) and that the connection is in use.
   */
  saveSticky(state: ConnectionState, presentedSeq: number): void {
    const settings = [state.toDeviceEnabled ? 1 : 0, state.toDeviceLimit ?? null, JSON.stringify(state.toDeviceKeys), state.e2eeEnabled ? 1 : 0, presentedSeq];
    const nowMs = Date.now();
    if (nowMs - state.lastUsedMs < LAST_USED_GRANULARITY_MS) this.statements.updateStickyKeepingUse.run(...settings, state.connectionId);
    else this.statements.updateSticky.run(...settings, nowMs, state.connectionId);
  }

  /**
   * The `pos` that answers a request made from `base`: one deeper, standing for device list position
   * `deviceListStreamId`, room-send record `roomSeq` and room-side positions `roomPositions`. Writes nothing.
   */
  issuePos(state: ConnectionState, userId: string, deviceId: string, fields: Omit<PosFields, 'connectionId' | 'seq'>, base: PosBase): string {
    const binding = { userId, deviceId, connId: state.connId, nonce: state.posNonce };
    return this.positions.issue(binding, { ...fields, connectionId: state.connectionId, seq: base.seq + 1 });
  }

  /** A new room-send record number for the connection (sliding-sync-rooms.ts); joins the caller's transaction. */
  nextRoomSeq(connectionId: number): number {
    return (this.statements.nextRoomSeq.get(connectionId) as { room_seq: number }).room_seq;
  }

  /** The `expire-pos` fault: every position issued so far to this device becomes unknown. */
  expireDevice(userId: string, deviceId: string): void {
    this.statements.expireDevice.run(userId, deviceId);
  }
}

/**
 * The `pos` values of one request's answers, each computed once: a request about to wait computes the one its
 * answer will most likely carry (`prime`), so that an answer woken by a message, which runs inside the sender's
 * transaction (device-waiters.ts), finds it ready instead of computing a MAC on the sender's path. An answer
 * with other positions (a key change or room news arrived meanwhile) computes its own.
 */
export class PosIssuer {
  private last: { key: string; pos: string } | undefined;

  constructor(
    private readonly connections: SlidingSyncConnections,
    private readonly userId: string,
    private readonly deviceId: string,
    readonly base: PosBase,
  ) {}

  /** The `pos` answering this request with these positions (see `SlidingSyncConnections.issuePos`). */
  issue(state: ConnectionState, fields: Omit<PosFields, 'connectionId' | 'seq'>): string {
    const rooms = fields.roomPositions;
    const key = `${state.connectionId}.${state.posNonce}.${fields.roomSeq}.${fields.deviceListStreamId}.${rooms === undefined ? '-' : encodePositions(rooms)}`;
    if (this.last?.key === key) return this.last.pos;
    const pos = this.connections.issuePos(state, this.userId, this.deviceId, fields, this.base);
    this.last = { key, pos };
    return pos;
  }

  /** Before a wait: the `pos` of an answer that brings nothing new but to-device messages. */
  prime(state: ConnectionState, deviceListStreamId: number): void {
    this.issue(state, { roomSeq: this.base.roomSeq, deviceListStreamId, roomPositions: this.base.roomPositions });
  }
}

function unknownPos(message: string): MatrixError {
  return new MatrixError(400, ErrCode.unknownPos, message);
}

/**
 * Room-side positions ahead of their streams come from another copy of the database: unknown. Typing lives in
 * memory and its positions restart above every earlier one after a restart (typing-store.ts), so a typing
 * position ahead only means "send the typing state again".
 */
function notAhead(positions: RoomSidePositions, current: RoomSidePositions): RoomSidePositions {
  if (positions.rooms > current.rooms || positions.accountData > current.accountData || positions.receipts > current.receipts) {
    throw unknownPos('pos from the future: it is beyond any position issued; start a new connection without pos');
  }
  return positions.typing > current.typing ? { ...positions, typing: 0 } : positions;
}

function toState(row: ConnectionRow): ConnectionState {
  const keys = JSON.parse(row.to_device_keys) as unknown;
  return {
    connectionId: row.connection_id,
    connId: row.conn_id,
    posNonce: row.pos_nonce,
    toDeviceEnabled: row.to_device_enabled === 1,
    toDeviceLimit: row.to_device_limit ?? undefined,
    toDeviceKeys: Array.isArray(keys) ? keys.filter((key): key is string => typeof key === 'string') : [],
    e2eeEnabled: row.e2ee_enabled === 1,
    roomSubscriptions: row.room_subscriptions,
    lastUsedMs: row.last_used_ts,
  };
}
