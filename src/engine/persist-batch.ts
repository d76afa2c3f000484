/**
 * How each strategy makes a received batch durable (DESIGN.md §5).
 *
 * Runtime: node.
 * - `explicit-cas` / `explicit-lease`: `commitBatch`, one transaction with the token compare-and-set (and, with a
 *   lease, the fencing check). The `mid-commit` kill point fires inside it, between the token swap and the
 *   events, where a crash must roll both back.
 * - `explicit-naive`: token first in its own transaction, events after in another, no compare-and-set. The same
 *   `mid-commit` kill point falls between the two, where a crash loses the batch (F3): the harness compares the
 *   strategies at identical points.
 * - `legacy`: this process's own classic token and the events, tagged with the process, in one transaction.
 * `transformEvents` (the Olm decryption) runs inside `commitBatch` for the explicit strategies, so a refused
 * commit never decrypts; the naive and legacy strategies decrypt first, outside any check, as old apps did.
 */
import { commitBatch, type CommitBatchResult, type LeaseFence } from '../store/commit-batch';
import { commitLegacyBatch } from '../store/legacy-token';
import { naiveAppendEvents, naiveWriteToken } from '../store/naive-commit';
import type { ClientStore } from '../store/open-store';
import type { InboxEventInput } from '../shared/olm-state';
import { ENCRYPTED_TO_DEVICE_TYPE } from '../shared/olm-wire';
import type { ToDeviceEvent } from '../shared/wire';
import type { Strategy } from './engine-types';
import type { KillPoints } from './kill-points';

export interface ReceivedBatch {
  since: string | null;
  nextBatch: string;
  events: ToDeviceEvent[];
  /** The lease generation the request was sent under (`explicit-lease` only). */
  generation: number | undefined;
}

export interface PersistContext {
  store: ClientStore;
  strategy: Strategy;
  processName: string;
  pid: number;
  nowMs: number;
  killPoints: KillPoints;
  fence: LeaseFence | undefined;
  transformEvents?: ((events: readonly ToDeviceEvent[], nowMs: number) => readonly InboxEventInput[]) | undefined;
  /**
   * Diagnostic writes that ride along in the batch's transaction (the engine's buffered event log), run after
   * the token swap, so only in a commit that goes through. The explicit strategies only: the others have no
   * single transaction to carry them.
   */
  alsoInCommit?: (() => void) | undefined;
}

/**
 * The transform with the `after-decrypt-before-commit` kill point after it, hit for batches that carried an
 * Olm-encrypted event: for the explicit strategies that is inside the commit (the Olm writes roll back with it),
 * for the others between decrypting and writing.
 */
function withDecryptKillPoint(transform: PersistContext['transformEvents'], killPoints: KillPoints): PersistContext['transformEvents'] {
  if (transform === undefined) return undefined;
  return (events, nowMs) => {
    const rows = transform(events, nowMs);
    if (events.some((event) => event.type === ENCRYPTED_TO_DEVICE_TYPE)) killPoints.hit('after-decrypt-before-commit');
    return rows;
  };
}

/**
 * Whether a strategy's commit carries `alsoInCommit`: the explicit strategies commit a batch in one transaction
 * (`commitBatch`); the naive one has no single transaction, and legacy's (`commitLegacyBatch`) takes no extra
 * writes. Every strategy must be named here, so a new one decides.
 */
const CARRIES_ALSO_IN_COMMIT: Readonly<Record<Strategy, boolean>> = {
  'explicit-cas': true,
  'explicit-lease': true,
  'explicit-naive': false,
  legacy: false,
};

/** Whether `persistBatch` runs `alsoInCommit` inside the batch's transaction for this strategy. */
export function carriesAlsoInCommit(strategy: Strategy): boolean {
  return CARRIES_ALSO_IN_COMMIT[strategy];
}

export function persistBatch(context: PersistContext, batch: ReceivedBatch): CommitBatchResult {
  const { store, processName: process, pid, nowMs, killPoints } = context;
  const { since, nextBatch } = batch;
  const transform = withDecryptKillPoint(context.transformEvents, killPoints);
  switch (context.strategy) {
    case 'explicit-cas':
    case 'explicit-lease':
      return commitBatch(store, {
        expectedSince: since,
        nextBatch,
        events: batch.events,
        process,
        pid,
        nowMs,
        ...(context.fence === undefined ? {} : { fence: context.fence }),
        ...(transform === undefined ? {} : { transformEvents: (events: readonly ToDeviceEvent[]) => transform(events, nowMs) }),
        afterTokenSwap: () => {
          killPoints.hit('mid-commit');
          context.alsoInCommit?.();
        },
      });
    case 'explicit-naive': {
      const events = transform === undefined ? batch.events : transform(batch.events, nowMs);
      const naive = { since, nextBatch, events, process, pid, nowMs };
      naiveWriteToken(store, naive);
      killPoints.hit('mid-commit');
      const seqs = naiveAppendEvents(store, naive);
      return { kind: 'committed', firstSeq: seqs?.firstSeq ?? null, lastSeq: seqs?.lastSeq ?? null, tokenVersion: -1 };
    }
    case 'legacy': {
      const events = transform === undefined ? batch.events : transform(batch.events, nowMs);
      const seqs = commitLegacyBatch(store, { process, pid, since, nextBatch, events, nowMs });
      return { kind: 'committed', firstSeq: seqs?.firstSeq ?? null, lastSeq: seqs?.lastSeq ?? null, tokenVersion: -1 };
    }
  }
}
