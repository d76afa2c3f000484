/**
 * Each drained batch timed in two parts: from `request` (about to send) to `response` (the answer read and
 * parsed), which holds the server's work, the hop and whatever the client does while the request is in flight
 * (the engine's WAL checkpoint), and from `response` to `commit` (the batch durable in the client's store). Our
 * drain feeds it the engine's own events (drain-engine.ts), the drain floor the same three marks (drain-floor.ts),
 * so case 1 can say on which side the drain's time goes.
 *
 * Runtime: node.
 */
import type { EngineEvent } from '../engine/engine-types';
import { median, nowMs } from './stats';

/** Median milliseconds per batch: request to answer, and answer to durable commit; and how many of each. */
export interface BatchTimings {
  requestToAnswerMs: number;
  answerToCommitMs: number;
  answered: number;
  committed: number;
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
