/**
 * One engine drain: the same `SyncEngine` the main process and the notifier run (`explicit-lease`, the real
 * `MatrixClient`, system clock), draining one device's backlog with `syncUntilCaughtUp` until a short batch
 * comes back, on a store the caller chose (a file at FULL or NORMAL, or `:memory:`). Nothing is
 * faked: every batch is one sliding sync request and one `commitBatch` transaction, with the lease and the
 * process event log as in production.
 *
 * It also times each batch in two parts, from the engine's own events: from `request` (about to send) to
 * `response` (the answer read and parsed), which holds the server's work, the hop and whatever the engine does
 * while the request is in flight (its WAL checkpoint), and from `response` to `commit` (the batch durable in the
 * inbox). Case 1 sets them beside the drain floor's same two parts, to say on which side the drain's time goes.
 *
 * Runtime: node.
 */
import { SyncEngine } from '../engine/sync-engine';
import { MatrixClient } from '../engine/matrix-client';
import type { EngineEvent } from '../engine/engine-types';
import { realSleep, seededRandom } from '../engine/timing';
import { systemClock } from '../shared/clock';
import type { Account } from '../store/account';
import { openStore } from '../store/open-store';
import { median, nowMs, perSecond } from './stats';

/** Median milliseconds per batch: request to answer, and answer to durable commit; and how many of each. */
export interface BatchTimings {
  requestToAnswerMs: number;
  answerToCommitMs: number;
  answered: number;
  committed: number;
}

export interface DrainRun {
  events: number;
  elapsedMs: number;
  eventsPerS: number;
  /** Absent when the drain had no batch with all three events (a drain of nothing). */
  batchTimings?: BatchTimings;
}

/**
 * Collects the times of each batch's `request`, `response` and `commit` events, in order, and times each part
 * only within one batch: a request whose answer never came (an error, then a retry) adds no request sample,
 * and an answer that was not committed (an unchanged or refused batch) no commit sample.
 */
export class BatchClock {
  private requestAtMs: number | undefined;
  private answerAtMs: number | undefined;
  private readonly requestToAnswer: number[] = [];
  private readonly answerToCommit: number[] = [];

  constructor(private readonly readMs: () => number = nowMs) {}

  readonly onEvent = (event: Pick<EngineEvent, 'kind'>): void => {
    const atMs = this.readMs();
    if (event.kind === 'request') {
      this.requestAtMs = atMs;
      this.answerAtMs = undefined;
    } else if (event.kind === 'response' && this.requestAtMs !== undefined) {
      this.answerAtMs = atMs;
      this.requestToAnswer.push(atMs - this.requestAtMs);
    } else if (event.kind === 'commit' && this.answerAtMs !== undefined) {
      this.answerToCommit.push(atMs - this.answerAtMs);
      this.answerAtMs = undefined;
    }
  };

  timings(): BatchTimings | undefined {
    if (this.requestToAnswer.length === 0 || this.answerToCommit.length === 0) return undefined;
    return {
      requestToAnswerMs: median(this.requestToAnswer),
      answerToCommitMs: median(this.answerToCommit),
      answered: this.requestToAnswer.length,
      committed: this.answerToCommit.length,
    };
  }
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
