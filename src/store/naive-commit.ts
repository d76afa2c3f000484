/**
 * The deliberately broken persistence of the `explicit-naive` strategy (DESIGN.md §5), kept so the harness can
 * show what goes wrong. Do not use it for anything else.
 *
 * Runtime: node. It writes the shared token in its own transaction, without compare-and-set, BEFORE the events
 * are appended in a second transaction. Consequences, each a named failure mode of DESIGN.md §6:
 * - a crash between the two transactions leaves the token advanced and the events missing: the next request
 *   acknowledges events that were never stored (F3, lost);
 * - two processes that both received the same batch both write it (no compare-and-set): duplicates (F4), and the
 *   slower one can move the token backward.
 */
import type { ToDeviceEvent } from '../shared/wire';
import { appendToInbox } from './inbox';
import type { ClientStore } from './open-store';
import { overwriteToken } from './token';

export interface NaiveBatch {
  since: string | null;
  nextBatch: string;
  events: readonly ToDeviceEvent[];
  process: string;
  pid: number;
  nowMs: number;
}

/** Step 1 of the naive commit: the token, alone, unconditionally. */
export function naiveWriteToken(store: ClientStore, batch: NaiveBatch): void {
  store.immediate(() => overwriteToken(store, { nextBatch: batch.nextBatch, nowMs: batch.nowMs, process: batch.process }));
}

/** Step 2 of the naive commit: the events, in a separate transaction. */
export function naiveAppendEvents(store: ClientStore, batch: NaiveBatch): { firstSeq: number; lastSeq: number } | null {
  return store.immediate(() =>
      appendToInbox(store, batch.events, {
        receivedAtMs: batch.nowMs,
        process: batch.process,
        pid: batch.pid,
        batchSince: batch.since,
        batchNextBatch: batch.nextBatch,
      }),
    );
}
