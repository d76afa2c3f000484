/**
 * The positions room-side sync hands out: `/messages` tokens, and the set of stream positions a sync response
 * brought its client up to.
 *
 * Runtime: node (homeserver only).
 *
 * - `t<position>` is a point in the room stream; `/messages` pages from it and sync's `prev_batch` is one.
 * - `RoomSidePositions` is where a client stands in each room-side stream: room events, its account data,
 *   receipts and typing. Classic sync appends it to its `next_batch` (see classic-sync-rooms.ts) and sliding
 *   sync stores it with each `pos`. Written `<rooms>_<accountData>_<receipts>_<typing>`.
 * These positions need no MAC: they only say how much of what the user may already see was delivered, so a
 * forged one can make the server resend or skip the user's own data but never reveal anything else. A position
 * ahead of the stream (from another database) is rejected like the to-device rule for `since` asks.
 */
import type { HomeserverContext } from './context';
import { invalidParam } from './errors';

export interface RoomSidePositions {
  rooms: number;
  accountData: number;
  receipts: number;
  typing: number;
}

/** Where a client that has seen nothing stands. */
export const NOTHING_SEEN: RoomSidePositions = { rooms: 0, accountData: 0, receipts: 0, typing: 0 };

export function positionToken(position: number): string {
  return `t${position}`;
}

export function parsePositionToken(token: string): number {
  const match = /^t(\d{1,15})$/.exec(token);
  if (match?.[1] === undefined) throw invalidParam('"from" is not a token this server issued');
  return Number(match[1]);
}

export function encodePositions(positions: RoomSidePositions): string {
  return `${positions.rooms}_${positions.accountData}_${positions.receipts}_${positions.typing}`;
}

/** Undefined for anything `encodePositions` could not have written. */
export function decodePositions(text: string): RoomSidePositions | undefined {
  const match = /^(\d{1,15})_(\d{1,15})_(\d{1,15})_(\d{1,15})$/.exec(text);
  if (match === null) return undefined;
  return { rooms: Number(match[1]), accountData: Number(match[2]), receipts: Number(match[3]), typing: Number(match[4]) };
}

/**
 * Checks a client's positions against the current ones: 400 `M_INVALID_PARAM` when any is ahead of its
 * stream, which this server cannot have issued.
 */
export function checkNotAhead(positions: RoomSidePositions, current: RoomSidePositions): RoomSidePositions {
  if (positions.rooms > current.rooms || positions.accountData > current.accountData || positions.receipts > current.receipts) {
    throw invalidParam('the sync position is from the future: it is beyond any position issued');
  }
  // Typing lives in memory and its positions restart above every earlier one (see typing-store.ts); a client
  // position ahead of it predates a restart and simply means "send the typing state again".
  return positions.typing > current.typing ? { ...positions, typing: 0 } : positions;
}

/** Where each room-side stream stands now, for one user (their account data stream is their own). */
export function currentPositions(ctx: HomeserverContext, userId: string): RoomSidePositions {
  return {
    rooms: ctx.rooms.streamPosition(),
    accountData: ctx.accountData.position(userId),
    receipts: ctx.receipts.position(),
    typing: ctx.typing.position(),
  };
}
