/**
 * Checking a client's `since` and `limit` before anything is acknowledged.
 *
 * Runtime: node (homeserver only).
 *
 * MSC4538: a `since` the server could not have issued (garbage, another device's, from the future) and a `limit`
 * that is not a positive integer get 400 `M_INVALID_PARAM`, and the request deletes nothing. Both sync kinds call
 * these checks first, before `ToDeviceQueue.acknowledge`, so a rejected request has no effect at all. Synapse
 * treats `limit: 0` as "acknowledge everything queued and return nothing", a data-loss bug we do not copy.
 */
import { invalidParam } from './errors';
import type { ClassicPositions, TokenKind, SyncTokens } from './sync-tokens';
import type { ToDeviceQueue } from './to-device-queue';

/** The stream id of a `since` this server issued to this device; throws 400 `M_INVALID_PARAM` otherwise. */
export function verifySince(
  tokens: SyncTokens,
  queue: ToDeviceQueue,
  kind: TokenKind,
  since: string,
  userId: string,
  deviceId: string,
): number {
  const streamId = tokens.verify(kind, since, userId, deviceId);
  if (streamId === undefined) throw invalidParam('"since" was not issued by this server for this device');
  const maxIssued = queue.positions(userId, deviceId)?.max_issued_stream_id ?? 0;
  if (streamId > maxIssued) throw invalidParam('"since" is from the future: it is beyond any position issued');
  return streamId;
}

/**
 * Both positions of a classic `since` this server issued to this device; throws 400 `M_INVALID_PARAM` like
 * `verifySince`, also when its device list position is beyond the stream's (a database restored from an older
 * copy), since reporting from there would skip every change made after the restore.
 */
export function verifyClassicSince(
  tokens: SyncTokens,
  queue: ToDeviceQueue,
  deviceListPosition: number,
  since: string,
  userId: string,
  deviceId: string,
): ClassicPositions {
  const positions = tokens.verifyClassic(since, userId, deviceId);
  if (positions === undefined) throw invalidParam('"since" was not issued by this server for this device');
  const maxIssued = queue.positions(userId, deviceId)?.max_issued_stream_id ?? 0;
  if (positions.toDeviceStreamId > maxIssued || positions.deviceListStreamId > deviceListPosition) {
    throw invalidParam('"since" is from the future: it is beyond any position issued');
  }
  return positions;
}

/** A to-device `limit` from a request body: absent, or a positive integer (MSC4538). */
export function parseLimit(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw invalidParam('"limit" must be a positive integer');
  }
  return value;
}

/** Upper bound of any long poll, whatever `timeout` the client asks for. */
export const MAX_TIMEOUT_MS = 60_000;

/** A `timeout` query parameter in milliseconds: absent means 0; otherwise a non-negative integer, capped. */
export function parseTimeoutMs(value: string | null): number {
  if (value === null || value === '') return 0;
  if (!/^\d{1,16}$/.test(value)) throw invalidParam('"timeout" must be a non-negative integer of milliseconds');
  return Math.min(Number(value), MAX_TIMEOUT_MS);
}
