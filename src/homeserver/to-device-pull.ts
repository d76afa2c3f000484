/**
 * One to-device pull, shared by the sliding sync extension and classic `/v3/sync`, in its three phases:
 * acknowledge `since`, maybe wait, take a batch and issue the next token.
 *
 * Runtime: node (homeserver only).
 *
 * Guarantees:
 * - The acknowledgement of `since` happens first and only after `since` was verified (see to-device-since.ts),
 *   so a rejected request deletes nothing, and an accepted one deletes only what the client already holds.
 * - A long poll returns at once when something is queued after `since` (MSC4538), otherwise waits for a
 *   message for this very device (see device-waiters.ts) or the timeout, or, when the route reports device
 *   lists (`wakeOnKeyChanges`), for a key change it would report. If the client disconnects while
 *   waiting, nothing more happens: no batch is recorded as delivered and no token is issued.
 * - The batch never exceeds `limit` nor the server's cap, and its token never acknowledges an unreturned
 *   message (see to-device-queue.ts).
 * - The phases are exported separately so a route can commit its own writes in the same transaction as the
 *   acknowledgement or the batch (sliding sync does). A route may also hand `waitForToDevice` the work that
 *   answers the poll: when a message for the device is queued, it runs inside the sender's transaction (see
 *   device-waiters.ts), so on the live path the message, its batch and the next `pos` share one fsync.
 */
import type { ToDeviceEvent } from '../shared/wire';
import type { Requester } from './auth';
import type { HomeserverContext } from './context';
import { JsonText } from './json-text';
import type { TokenKind } from './sync-tokens';

export interface PullOptions {
  kind: TokenKind;
  /** Verified stream id of the client's `since`, or undefined for an initial request. */
  sinceStreamId: number | undefined;
  limit: number;
  /** 0 for no long poll. */
  longPollMs: number;
  signal: AbortSignal;
  /** A long poll also ends on a device key change of a user the requester shares a room with (device-waiters.ts). */
  wakeOnKeyChanges?: boolean;
}

export interface PullResult {
  nextBatch: string;
  events: ToDeviceEvent[];
}

/** Phase 1: deletes what the client holds. Call only with a verified `since`; joins the caller's transaction. */
export function acknowledgeSince(ctx: HomeserverContext, me: Requester, options: PullOptions): void {
  if (options.sinceStreamId !== undefined) ctx.queue.acknowledge(me.userId, me.deviceId, options.sinceStreamId);
}

/**
 * Phase 2: undefined when the request was aborted (client gone or server closing) while waiting. `prepared` is
 * what `onQueued` returned inside the transaction of the message that woke the poll, if it ran and succeeded.
 */
export async function waitForToDevice<T>(
  ctx: HomeserverContext,
  me: Requester,
  options: PullOptions,
  onQueued?: () => T,
): Promise<{ prepared: T | undefined } | undefined> {
  const after = options.sinceStreamId ?? 0;
  let prepared: T | undefined;
  if (options.longPollMs > 0 && !ctx.queue.hasEventsAfter(me.userId, me.deviceId, after)) {
    // The check above and the wait below run in one synchronous turn, so no wake-up can be missed.
    const wakeOn = { toDevice: true, keyChanges: options.wakeOnKeyChanges === true };
    const waited = await ctx.waiters.waitToTake(me.userId, me.deviceId, options.longPollMs, options.signal, onQueued, wakeOn);
    if (waited.outcome === 'aborted') return undefined;
    prepared = waited.prepared;
  }
  return options.signal.aborted ? undefined : { prepared };
}

/**
 * Phase 3: the next batch, recorded as delivered, and its token. Joins the caller's transaction. A classic token
 * also carries the device list position the response was computed at (see sync-tokens.ts).
 */
export function takeToDevice(ctx: HomeserverContext, me: Requester, options: PullOptions, deviceListStreamId?: number): PullResult {
  const after = options.sinceStreamId ?? 0;
  const batch = ctx.queue.takeBatch(me.userId, me.deviceId, after, Math.min(options.limit, ctx.batchCap));
  return {
    nextBatch: ctx.tokens.issue(options.kind, me.userId, me.deviceId, batch.nextStreamId, deviceListStreamId),
    events: batch.events,
  };
}

/**
 * Phase 3 for the sliding sync extension: the same batch and token as `takeToDevice`, as the extension's JSON
 * text, the stored contents spliced in unparsed (json-text.ts). Joins the caller's transaction.
 */
export function takeToDeviceText(ctx: HomeserverContext, me: Requester, options: PullOptions): JsonText {
  const after = options.sinceStreamId ?? 0;
  const batch = ctx.queue.takeBatchText(me.userId, me.deviceId, after, Math.min(options.limit, ctx.batchCap));
  const nextBatch = ctx.tokens.issue(options.kind, me.userId, me.deviceId, batch.nextStreamId);
  return new JsonText(`{"next_batch":${JSON.stringify(nextBatch)},"events":${batch.eventsJson}}`);
}
