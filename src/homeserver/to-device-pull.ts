/**
 * One to-device pull, shared by the sliding sync extension and classic `/v3/sync`: acknowledge, maybe wait,
 * take a batch, issue the next token.
 *
 * Runtime: node (homeserver only).
 *
 * Guarantees:
 * - The acknowledgement of `since` happens first and only after `since` was verified (see to-device-since.ts),
 *   so a rejected request deletes nothing, and an accepted one deletes only what the client already holds.
 * - A long poll returns at once when something is queued after `since` (MSC4538), otherwise waits for a
 *   message for this very device (see device-waiters.ts) or the timeout. If the client disconnects while
 *   waiting, nothing more happens: no batch is recorded as delivered and no token is issued.
 * - The batch never exceeds `limit` nor the server's cap, and its token never acknowledges an unreturned
 *   message (see to-device-queue.ts).
 */
import type { ToDeviceEvent } from '../shared/wire';
import type { Requester } from './auth';
import type { HomeserverContext } from './context';
import type { TokenKind } from './sync-tokens';

export interface PullOptions {
  kind: TokenKind;
  /** Verified stream id of the client's `since`, or undefined for an initial request. */
  sinceStreamId: number | undefined;
  limit: number;
  /** 0 for no long poll. */
  longPollMs: number;
  signal: AbortSignal;
}

export interface PullResult {
  nextBatch: string;
  events: ToDeviceEvent[];
}

/** Undefined when the request was aborted (client gone or server closing) while waiting. */
export async function pullToDevice(
  ctx: HomeserverContext,
  me: Requester,
  options: PullOptions,
): Promise<PullResult | undefined> {
  const after = options.sinceStreamId ?? 0;
  if (options.sinceStreamId !== undefined) ctx.queue.acknowledge(me.userId, me.deviceId, options.sinceStreamId);
  if (options.longPollMs > 0 && !ctx.queue.hasEventsAfter(me.userId, me.deviceId, after)) {
    // The check above and the wait below run in one synchronous turn, so no wake-up can be missed.
    const outcome = await ctx.waiters.wait(me.userId, me.deviceId, options.longPollMs, options.signal);
    if (outcome === 'aborted') return undefined;
  }
  if (options.signal.aborted) return undefined;
  const batch = ctx.queue.takeBatch(me.userId, me.deviceId, after, Math.min(options.limit, ctx.batchCap));
  return {
    nextBatch: ctx.tokens.issue(options.kind, me.userId, me.deviceId, batch.nextStreamId),
    events: batch.events,
  };
}
