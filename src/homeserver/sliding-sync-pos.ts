/**
 * The sliding sync `pos`, stateless: everything the server needs to serve the next request of a connection is
 * written in the `pos` itself and bound to it by a MAC, so issuing one writes nothing to the database.
 *
 * Runtime: node (homeserver only).
 *
 * Format (opaque to clients, URL-safe): `<connection>.<seq>.<roomSeq>.<deviceLists>.<roomPositions>.<mac>`, e.g.
 * `12.7.3.41.-.Xq0uC5Jq1bB0yP1Wc3nS9w` where
 * - `connection` is the connection's row id (sliding-sync-connections.ts);
 * - `seq` is the pos's depth on its connection: the pos a request presents, plus one (a new connection's first
 *   pos is 1). It decides which old positions are still accepted (see sliding-sync-connections.ts);
 * - `roomSeq` is the newest room-send record the client holds (sliding-sync-rooms.ts), 0 for none;
 * - `deviceLists` is the device list stream position the response was computed at (device-list-stream.ts);
 * - `roomPositions` is where the client stands in the room-side streams (room-positions.ts), `-` when the
 *   connection never asked for rooms;
 * - `mac` is the first 16 bytes, base64url, of HMAC-SHA256 under the server's token secret over all of the
 *   above and over the user, device and `conn_id` it was issued to and the connection's `pos` nonce.
 *
 * What the MAC gives: a `pos` is accepted only as issued, to the very connection it was issued to. A forged or
 * altered one, another device's or another `conn_id`'s, one from a connection that was since replaced (the new
 * connection has a new row id and nonce), one issued before an `expire-pos` fault (which draws a new nonce)
 * and one from another database (another secret) all fail it, and the caller answers 400 `M_UNKNOWN_POS`. The
 * secret lives in the database, so a `pos` stays valid across restarts, as stored positions did. The MAC input
 * is a JSON array, so no choice of IDs (a `|` in a device ID) can make two inputs read alike.
 *
 * The positions a `pos` carries are the client's own: they say how much of its own data it was sent, never
 * whose data it may see, and the MAC only stops a client from claiming positions it was never given.
 */
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { decodePositions, encodePositions, type RoomSidePositions } from './room-positions';
import { RecentMacs } from './recent-macs';

/** What a `pos` stands for. */
export interface PosFields {
  connectionId: number;
  seq: number;
  roomSeq: number;
  deviceListStreamId: number;
  /** Undefined on a connection that never asked for rooms. */
  roomPositions: RoomSidePositions | undefined;
}

/** Who a `pos` was issued to: only this binding verifies it. */
export interface PosBinding {
  userId: string;
  deviceId: string;
  connId: string;
  /** The connection's nonce, replaced when its positions are expired. */
  nonce: string;
}

const MAC_BYTES = 16;
const NUMBER = '(\\d{1,15})';
const POS_PATTERN = new RegExp(
  `^${NUMBER}\\.${NUMBER}\\.${NUMBER}\\.${NUMBER}\\.(-|\\d{1,15}_\\d{1,15}_\\d{1,15}_\\d{1,15})\\.([A-Za-z0-9_-]{22})$`,
);

/** A `pos` read but not yet verified: `verify` says whether it was issued to a binding. */
export interface ParsedPos {
  fields: PosFields;
  mac: string;
}

export class SlidingSyncPos {
  /** Imported once, as in sync-tokens.ts: a string secret would be re-imported on every MAC. */
  private readonly key: KeyObject;
  /** The next request verifies the `pos` just issued: its MAC is remembered (recent-macs.ts). */
  private readonly recent = new RecentMacs();

  constructor(secret: string) {
    this.key = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  issue(binding: PosBinding, fields: PosFields): string {
    const rooms = fields.roomPositions === undefined ? '-' : encodePositions(fields.roomPositions);
    const body = `${fields.connectionId}.${fields.seq}.${fields.roomSeq}.${fields.deviceListStreamId}.${rooms}`;
    return `${body}.${this.mac(binding, body)}`;
  }

  /** The fields of anything `issue` could have written, else undefined. Checks nothing else. */
  parse(pos: string): ParsedPos | undefined {
    const match = POS_PATTERN.exec(pos);
    if (match === null) return undefined;
    const [, connectionId, seq, roomSeq, deviceLists, rooms, mac] = match as unknown as string[];
    return {
      fields: {
        connectionId: Number(connectionId),
        seq: Number(seq),
        roomSeq: Number(roomSeq),
        deviceListStreamId: Number(deviceLists),
        roomPositions: rooms === '-' ? undefined : decodePositions(rooms ?? ''),
      },
      mac: mac ?? '',
    };
  }

  /** Whether `parsed` is exactly what `issue` wrote for `binding`. */
  verify(binding: PosBinding, pos: string, parsed: ParsedPos): boolean {
    const body = pos.slice(0, pos.length - parsed.mac.length - 1);
    return timingSafeEqual(Buffer.from(this.mac(binding, body)), Buffer.from(parsed.mac));
  }

  private mac(binding: PosBinding, body: string): string {
    const input = JSON.stringify(['sliding-sync-pos', binding.userId, binding.deviceId, binding.connId, binding.nonce, body]);
    return this.recent.of(input, (text) => createHmac('sha256', this.key).update(text).digest().subarray(0, MAC_BYTES).toString('base64url'));
  }
}
