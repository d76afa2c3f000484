/**
 * How much a notifier syncs for one push: in passes of at most `NOTIFIER_BATCHES_PER_PASS` batches, and another
 * pass only while the pushed event still needs something that has not arrived (its room key, or its to-device
 * payload).
 *
 * Runtime: node / electron-utility. Why bounded: a notifier is started per push and, like a phone's notification
 * extension, must stay small and short. Met with a backlog of tens of thousands of messages it used to drain all
 * of it (1,000 batches at most), which made it the process that drained the device, for seconds, its memory
 * growing with every batch. What it needs is the pushed event's own data; the rest is the main process's work
 * (or the next notifier's). Nothing is lost by stopping: every batch is committed with its token before the
 * token is sent as `since`, and what was not fetched stays queued on the server. `NOTIFIER_MAX_BATCHES` bounds
 * the whole run as before.
 */
import type { CatchUpSummary } from '../engine/engine-types';
import type { SyncEngine } from '../engine/sync-engine';

/** Batches of one pass (at the default `limit` of 100 events, 1,000 events). */
export const NOTIFIER_BATCHES_PER_PASS = 10;
/** Batches of a whole run, when the pushed event keeps needing more. */
export const NOTIFIER_MAX_BATCHES = 1000;

export async function syncForPush(
  engine: Pick<SyncEngine, 'syncUntilCaughtUp'>,
  leaseWaitMs: number,
  stillNeedsToDevice: () => Promise<boolean>,
  /** While queued for the lease: stop waiting once this turns true (the holder committed what the push needs). */
  giveUpWaitingWhen?: () => boolean,
  /** The first pass takes the lease only once this settled (the Olm state is open): see `acquireWithin`. */
  takeLeaseNotBefore?: Promise<unknown>,
): Promise<CatchUpSummary> {
  let batches = 0;
  let events = 0;
  let firstSeq: number | null = null;
  for (;;) {
    const summary = await engine.syncUntilCaughtUp({
      leaseWaitMs,
      maxBatches: NOTIFIER_BATCHES_PER_PASS,
      ...(giveUpWaitingWhen === undefined ? {} : { giveUpWaitingWhen }),
      ...(takeLeaseNotBefore === undefined ? {} : { takeLeaseNotBefore }),
    });
    if (!('batches' in summary)) return summary;
    batches += summary.batches;
    events += summary.events;
    firstSeq ??= summary.firstSeq;
    const total = { ...summary, batches, events, firstSeq };
    if (summary.kind !== 'batch-limit' || batches >= NOTIFIER_MAX_BATCHES || !(await stillNeedsToDevice())) return total;
  }
}
