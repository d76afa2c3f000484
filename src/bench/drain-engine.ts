/**
 * One engine drain: the same `SyncEngine` the main process and the notifier run (`explicit-lease`, the real
 * `MatrixClient`, system clock), draining one device's backlog with `syncUntilCaughtUp` until a short batch
 * comes back, on a store the caller chose (a file at FULL or NORMAL, or `:memory:`). Nothing is
 * faked: every batch is one sliding sync request and one `commitBatch` transaction, with the lease and the
 * process event log as in production.
 *
 * It also times each batch in two parts from the engine's own events (batch-clock.ts), which case 1 sets beside
 * the drain floor's same two parts.
 *
 * Runtime: node.
 */
import { SyncEngine } from '../engine/sync-engine';
import { MatrixClient } from '../engine/matrix-client';
import { realSleep, seededRandom } from '../engine/timing';
import { systemClock } from '../shared/clock';
import type { Account } from '../store/account';
import { openStore } from '../store/open-store';
import { BatchClock, type BatchTimings } from './batch-clock';
import { nowMs, perSecond } from './stats';

export interface DrainRun {
  events: number;
  elapsedMs: number;
  eventsPerS: number;
  /** Absent when the drain had no batch with all three events (a drain of nothing). */
  batchTimings?: BatchTimings;
}

export async function drainWithEngine(input: {
  account: Account;
  storePath: string;
  synchronous: 'FULL' | 'NORMAL';
  expectedEvents: number;
  limit: number;
}): Promise<DrainRun> {
  const store = openStore(input.storePath, { synchronous: input.synchronous });
  try {
    const clock = new BatchClock();
    const engine = new SyncEngine({
      store,
      client: new MatrixClient({ baseUrl: input.account.homeserverUrl, accessToken: input.account.accessToken }),
      clock: systemClock,
      sleep: realSleep,
      random: seededRandom(1),
      strategy: 'explicit-lease',
      processName: 'main',
      pid: process.pid,
      limit: input.limit,
      onEvent: clock.onEvent,
    });
    const startedMs = nowMs();
    const summary = await engine.syncUntilCaughtUp({
      leaseWaitMs: 1000,
      maxBatches: Math.ceil(input.expectedEvents / input.limit) + 10,
    });
    const elapsedMs = nowMs() - startedMs;
    if (summary.kind !== 'caught-up' || summary.events !== input.expectedEvents) {
      throw new Error(`bench: drain of ${input.storePath} ended ${summary.kind} with ${'events' in summary ? summary.events : 0} of ${input.expectedEvents} events`);
    }
    const batchTimings = clock.timings();
    return { events: summary.events, elapsedMs, eventsPerS: perSecond(summary.events, elapsedMs), ...(batchTimings === undefined ? {} : { batchTimings }) };
  } finally {
    store.close();
  }
}
