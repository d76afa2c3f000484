/**
 * Which rooms the main process follows: every room its account has joined, learnt from a sliding sync room list
 * as Element X learns it, not from the rooms the demo made.
 *
 * Runtime: node. One sliding sync connection of its own (`conn_id` `ROOM_LIST_CONN_ID`), holding one list and no
 * extension, so it never touches the device's to-device stream: the server acknowledges nothing for it, and
 * injected sync faults are not spent on it (src/homeserver/sliding-sync-route.ts). Guarantees:
 * - A room joined after start is followed from the first answer that carries it: the server sends a room that is
 *   new to the connection, or whose membership changed, whole. A room left (or banned from) comes back with that
 *   membership and is no longer followed; a room with nothing new is left out of an answer and stays as it was.
 * - The range always covers the whole list: when the list holds more rooms than the range, the same call asks
 *   again with a range that covers them, so no joined room sits unseen past the end.
 * - Nothing here is durable and nothing needs to be: a new follower (after a restart) opens a new connection, and
 *   a new connection is sent every room in its range. The same happens when the server no longer knows the
 *   connection's `pos` (400 `M_UNKNOWN_POS`): the set is rebuilt from a fresh connection.
 * - Bounded cost: at most one request per `refreshIntervalMs`; in between, the last answer stands, so a room left
 *   just now may still be listed: the caller that is refused it (403) calls `forget`.
 */
import type { MatrixClient, MatrixClientError } from '../../engine/matrix-client';
import type { Clock } from '../../shared/clock';
import { ok, type Result } from '../../shared/result';

export const ROOM_LIST_CONN_ID = 'todevice-room-list';
const INITIAL_RANGE_END = 99;
/** Rooms a grown range leaves room for, so a list that grows by a few does not need a second request each time. */
const RANGE_HEADROOM = 50;
const DEFAULT_REFRESH_INTERVAL_MS = 1000;

export interface RoomListFollowerOptions {
  client: Pick<MatrixClient, 'slidingSyncRoomList'>;
  clock: Clock;
  /** Minimum time between two requests. Default 1 s. */
  refreshIntervalMs?: number;
  /** The last index of the first range asked for. Default 99; tests make the list outgrow a small one. */
  initialRangeEnd?: number;
}

export class RoomListFollower {
  private pos: string | undefined;
  private readonly joined = new Set<string>();
  private rangeEnd: number;
  private askedAtMs: number | undefined;

  constructor(private readonly options: RoomListFollowerOptions) {
    this.rangeEnd = options.initialRangeEnd ?? INITIAL_RANGE_END;
  }

  /** The rooms joined now, as the newest answer says; asks the server first when the last answer is old enough. */
  async joinedRooms(): Promise<Result<string[], MatrixClientError>> {
    const nowMs = this.options.clock.nowMs();
    const interval = this.options.refreshIntervalMs ?? DEFAULT_REFRESH_INTERVAL_MS;
    if (this.askedAtMs !== undefined && nowMs - this.askedAtMs < interval) return ok([...this.joined]);
    const refreshed = await this.refresh();
    if (!refreshed.ok) return refreshed;
    this.askedAtMs = nowMs;
    return ok([...this.joined]);
  }

  /**
   * Stops following a room the server refused to page for the user (403): left since the last answer, which
   * can be up to `refreshIntervalMs` old. An answer that says the room is joined again brings it back.
   */
  forget(roomId: string): void {
    this.joined.delete(roomId);
  }

  private async refresh(): Promise<Result<void, MatrixClientError>> {
    // Each round either settles, grows the range to the list's count, or drops a forgotten connection: a few suffice.
    for (let round = 0; round < 4; round += 1) {
      const fresh = this.pos === undefined;
      const answer = await this.options.client.slidingSyncRoomList({ connId: ROOM_LIST_CONN_ID, range: [0, this.rangeEnd], ...(fresh ? {} : { pos: this.pos }) });
      if (!answer.ok) {
        if (answer.error.kind !== 'unknown-pos' || fresh) return answer;
        this.pos = undefined;
        continue;
      }
      // A new connection is sent every room in its range: that answer is the whole set.
      if (fresh) this.joined.clear();
      this.pos = answer.value.pos;
      for (const room of answer.value.rooms) {
        // A room in the list without a membership is one the user is in (an invite always says it is one).
        if (room.membership === undefined || room.membership === 'join') this.joined.add(room.roomId);
        else this.joined.delete(room.roomId);
      }
      if (answer.value.count <= this.rangeEnd + 1) return ok(undefined);
      this.rangeEnd = answer.value.count - 1 + RANGE_HEADROOM;
    }
    return ok(undefined);
  }
}
