/**
 * Commits one to-device batch: the heart of DESIGN.md §4.1.
 *
 * Runtime: node. ONE `BEGIN IMMEDIATE` transaction (the write lock is taken up front, so no other process can
 * interleave between our checks and our writes) that:
 *  1. checks the fencing condition when a lease is in use: the caller still holds the lease at the generation
 *     it started the request with. A holder that stalled past its lease and was replaced (F9) is refused here.
 *  2. compare-and-sets the token `WHERE since IS expectedSince`. If another process committed since we read the
 *     token, our batch is a duplicate (or a superset) of theirs: refuse it, the server delivers it again.
 *  3. appends the events to the inbox.
 * If 1 or 2 fails nothing has been written and the result says why. A crash anywhere inside (the `mid-commit`
 * kill point sits between 2 and 3) rolls everything back, so the token and the events are durable together or
 * not at all (F3, F4). The caller sends `nextBatch` as `since`, which acknowledges the batch (MSC3885), only
 * after this returned `committed`.
 */
import type { ToDeviceEvent } from '../shared/wire';
import { appendToInbox } from './inbox';
import { holdsLease } from './lease';
import type { ClientStore } from './open-store';
import { compareAndSetToken, readToken } from './token';

export interface LeaseFence {
  key: string;
  holder: string;
  generation: number;
}

export interface CommitBatchInput {
  /** The `since` the request was sent with (`null` for an initial sync). */
  expectedSince: string | null;
  nextBatch: string;
  events: readonly ToDeviceEvent[];
  process: string;
  pid: number;
  nowMs: number;
  /** When set, the commit is refused unless this holder still holds the lease at this generation. */
  fence?: LeaseFence;
  /** Called inside the transaction after the token swap and before the events are appended. */
  afterTokenSwap?: () => void;
}

export type CommitBatchResult =
  | { kind: 'committed'; firstSeq: number | null; lastSeq: number | null; tokenVersion: number }
  | { kind: 'stale'; currentSince: string | null }
  | { kind: 'fenced' };

export function commitBatch(store: ClientStore, input: CommitBatchInput): CommitBatchResult {
  return store.immediate((): CommitBatchResult => {
    if (input.fence !== undefined && !holdsLease(store, input.fence)) return { kind: 'fenced' };
    const swapped = compareAndSetToken(store, {
      expectedSince: input.expectedSince,
      nextBatch: input.nextBatch,
      nowMs: input.nowMs,
      process: input.process,
    });
    if (!swapped) return { kind: 'stale', currentSince: readToken(store).since };
    input.afterTokenSwap?.();
    const seqs = appendToInbox(store, input.events, {
      receivedAtMs: input.nowMs,
      process: input.process,
      pid: input.pid,
      batchSince: input.expectedSince,
      batchNextBatch: input.nextBatch,
    });
    return {
      kind: 'committed',
      firstSeq: seqs?.firstSeq ?? null,
      lastSeq: seqs?.lastSeq ?? null,
      tokenVersion: readToken(store).version,
    };
  });
}
