// How much a notifier syncs for one push: one bounded pass when the pushed event needs nothing more, more passes
// only while it still waits for its data, and never more than the run's bound.
import { describe, expect, it } from 'vitest';
import type { CatchUpSummary } from '../../../src/engine/engine-types';
import { NOTIFIER_BATCHES_PER_PASS, NOTIFIER_MAX_BATCHES, syncForPush } from '../../../src/notifier/sync-for-push';

/** An engine over a backlog of `backlogBatches` full batches: each call drains up to its `maxBatches`. */
function backlogEngine(backlogBatches: number): { engine: { syncUntilCaughtUp(options: { maxBatches?: number }): Promise<CatchUpSummary> }; calls: number[] } {
  let left = backlogBatches;
  let seq = 0;
  const calls: number[] = [];
  return {
    calls,
    engine: {
      syncUntilCaughtUp: ({ maxBatches }) => {
        const bound = maxBatches ?? 1000;
        calls.push(bound);
        const taken = Math.min(bound, left);
        left -= taken;
        const firstSeq = taken === 0 ? null : seq + 1;
        seq += taken * 100;
        const totals = { batches: taken, events: taken * 100, stale: 0, firstSeq, lastSeq: taken === 0 ? null : seq };
        return Promise.resolve(left > 0 ? { kind: 'batch-limit', ...totals } : { kind: 'caught-up', ...totals });
      },
    },
  };
}

describe('sync for push', () => {
  it('sync for push: with a backlog and nothing more needed, one pass of a bounded number of batches', async () => {
    const { engine, calls } = backlogEngine(200);
    const summary = await syncForPush(engine, 1000, () => Promise.resolve(false));
    expect(calls).toEqual([NOTIFIER_BATCHES_PER_PASS]);
    expect(summary).toMatchObject({ kind: 'batch-limit', batches: NOTIFIER_BATCHES_PER_PASS, events: NOTIFIER_BATCHES_PER_PASS * 100, firstSeq: 1 });
  });

  it('sync for push: while the pushed event still needs its key, it syncs on, and stops once the key is there', async () => {
    const { engine, calls } = backlogEngine(200);
    let passes = 0;
    const summary = await syncForPush(engine, 1000, () => Promise.resolve((passes += 1) < 3));
    expect(calls).toEqual([NOTIFIER_BATCHES_PER_PASS, NOTIFIER_BATCHES_PER_PASS, NOTIFIER_BATCHES_PER_PASS]);
    expect(summary).toMatchObject({ kind: 'batch-limit', batches: 3 * NOTIFIER_BATCHES_PER_PASS, firstSeq: 1, lastSeq: 3 * NOTIFIER_BATCHES_PER_PASS * 100 });
  });

  it('sync for push: a backlog shorter than a pass is drained to the end; a need never outlasts the run bound', async () => {
    const short = backlogEngine(3);
    expect(await syncForPush(short.engine, 1000, () => Promise.resolve(true))).toMatchObject({ kind: 'caught-up', batches: 3 });
    const endless = backlogEngine(5 * NOTIFIER_MAX_BATCHES);
    const summary = await syncForPush(endless.engine, 1000, () => Promise.resolve(true));
    expect(summary).toMatchObject({ kind: 'batch-limit', batches: NOTIFIER_MAX_BATCHES });
  });
});
