// bench: the drain's per-batch timing pairs each batch's request, answer and commit, and times nothing across
// batches (a failed request adds no request sample, an uncommitted answer no commit sample).
import { describe, expect, it } from 'vitest';
import { BatchClock } from '../../../src/bench/batch-clock';
import type { EngineEventKind } from '../../../src/engine/engine-types';

function feed(events: Array<[EngineEventKind, number]>): BatchClock {
  let nowMs = 0;
  const clock = new BatchClock(() => nowMs);
  for (const [kind, atMs] of events) {
    nowMs = atMs;
    clock.onEvent({ kind });
  }
  return clock;
}

describe('BatchClock', () => {
  it('bench: times request to answer and answer to commit within each batch, as medians', () => {
    const clock = feed([
      ['request', 0], ['response', 2], ['commit', 3],
      ['request', 10], ['response', 14], ['commit', 16],
      ['request', 20], ['response', 23], ['commit', 27],
    ]);
    expect(clock.timings()).toEqual({ requestToAnswerMs: 3, answerToCommitMs: 2, answered: 3, committed: 3 });
  });

  it('bench: a request without an answer adds no request sample, an answer without a commit no commit sample', () => {
    const clock = feed([
      ['request', 0], ['error', 50],
      ['request', 100], ['response', 102], ['unchanged', 103],
      ['request', 200], ['response', 202], ['commit', 205],
      ['request', 300], ['response', 302], ['commit', 305],
      ['commit', 900],
    ]);
    // Three requests were answered and two answers committed. Paired across batches, the failed request would
    // time 102 ms to the next answer, and the unchanged answer 103 ms to the next commit, as would the stray one.
    expect(clock.timings()).toEqual({ requestToAnswerMs: 2, answerToCommitMs: 3, answered: 3, committed: 2 });
  });

  it('bench: a drain with no committed batch has no timings', () => {
    expect(feed([['request', 0], ['response', 1]]).timings()).toBeUndefined();
  });
});
