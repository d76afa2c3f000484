/**
 * Commits one to-device batch: the heart of DESIGN.md §4.1.
 *
 * Runtime: node. ONE `BEGIN IMMEDIATE` transaction (the write lock is taken up front, so no other process can
 * interleave between our checks and our writes) that:
 *  1. checks the fencing condition when a lease is in use: the caller still holds the lease at the generation
 *     it started the request with. A holder that stalled past its lease and was replaced (F9) is refused here.
 *  2. compare-and-sets the token `WHERE since IS expectedSince`. If another process committed since we read the
 *     token, our batch is a duplicate (or a superset) of theirs: refuse it, the server delivers it again.
 *  3. turns the events into inbox rows with `transformEvents` when given: the Olm decryption of DESIGN.md §8,
 *     which reads the sessions inside this transaction and writes the pickles it advanced here too.
 *  4. appends the rows to the inbox.
 * If 1 or 2 fails nothing has been written, `transformEvents` is not called, and the result says why. A crash or
 * an exception anywhere inside (the `mid-commit` kill point sits between 3 and 4) rolls everything back, Olm
 * writes included, so the token, the Olm state and the events are durable together or not at all (F3, F4), and
 * a redelivered batch decrypts again from the same state. The caller sends `nextBatch` as `since`, which
 * acknowledges the batch (MSC3885), only after this returned `committed`.
 */
import type { InboxEventInput } from '../shared/olm-state';
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
  /**
   * Called inside the transaction after the fence and token checks passed, with the fetched events; returns the
   * rows to append instead of them (decrypted, or kept encrypted with a reason). It must be synchronous and write
   * only through the store's connection, so its writes commit or roll back with the batch.
   */
  transformEvents?: (events: readonly ToDeviceEvent[]) => readonly InboxEventInput[];
  /** Called inside the transaction after the token swap (and `transformEvents`) and before the rows are appended. */
  afterTokenSwap?: () => void;
}

export type CommitBatchResult =
  | { kind: 'committed'; firstSeq: number | null; lastSeq: number | null; tokenVersion: number }
  | { kind: 'stale'; currentSince: string | null }
  | { kind: 'fenced' };

export function commitBatch(store: ClientStore, input: CommitBatchInput): CommitBatchResult {
  return store.immediate((): CommitBatchResult => {
    if (input.fence !== undefined && !holdsLease(store, input.fence)) return { kind: 'fenced' };
    const tokenVersion = compareAndSetToken(store, {
      expectedSince: input.expectedSince,
      nextBatch: input.nextBatch,
      nowMs: input.nowMs,
      process: input.process,
    });
    if (tokenVersion === undefined) return { kind: 'stale', currentSince: readToken(store).since };
    const rows = input.transformEvents === undefined ? input.events : input.transformEvents(input.events);
    input.afterTokenSwap?.();
    const seqs = appendToInbox(store, rows, {
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
      tokenVersion,
    };
  });
}
