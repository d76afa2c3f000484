/**
 * The watcher that runs beside a long poll held under the lease (DESIGN.md §4.4).
 *
 * Runtime: node. Every `pollIntervalMs` (or at once on an IPC hint) it asks the `LeaseKeeper` whether to keep
 * going; when a waiter wants the lease, or the lease could not be renewed, it aborts the in-flight request.
 * Aborting is safe: nothing is acknowledged until the next request carries a new `since`. The loop ends when the
 * request ends (`stop()`), when it aborted the request, or after a bound of ticks.
 */
import type { LeaseKeeper } from './lease-keeper';
import { classifySqliteError } from '../store/sqlite-errors';
import type { Sleep } from './timing';

const MAX_WATCH_TICKS = 1_000_000;

export interface LeaseWatch {
  /** Ends the watcher; returns why it aborted the request, if it did. */
  stop(): 'preempted' | 'lease-lost' | undefined;
}

export function runLeaseWatch(input: {
  lease: LeaseKeeper;
  controller: AbortController;
  sleep: Sleep;
  pollIntervalMs: number;
  setWake: (wake: (() => void) | undefined) => void;
}): LeaseWatch {
  let verdict: 'preempted' | 'lease-lost' | undefined;
  let stopped = false;
  let tick = new AbortController();
  input.setWake(() => tick.abort());
  const loop = async (): Promise<void> => {
    for (let count = 0; count < MAX_WATCH_TICKS && !stopped; count += 1) {
      await input.sleep(input.pollIntervalMs, AbortSignal.any([tick.signal, input.controller.signal]));
      tick = new AbortController();
      if (stopped || input.controller.signal.aborted) return;
      const decision = checkQuietly(input.lease);
      if (decision !== 'keep') {
        verdict = decision;
        input.controller.abort();
        return;
      }
    }
  };
  void loop();
  return {
    stop() {
      if (!stopped) {
        stopped = true;
        input.setWake(undefined);
        // The sleeping loop is woken on the next turn, not now: stop() runs between a response and its commit,
        // and dispatching the abort through the sleep's combined signal cost that path about 0.1 ms (measured by `todevice bench`).
        // Until then the loop sleeps and touches nothing; it sees `stopped` and ends.
        setImmediate(() => tick.abort());
      }
      return verdict;
    },
  };
}

/** A busy database skips one check rather than failing the long poll. */
function checkQuietly(lease: LeaseKeeper): 'keep' | 'preempted' | 'lease-lost' {
  try {
    return lease.check();
  } catch (error) {
    if (classifySqliteError(error) === undefined) throw error;
    return 'keep';
  }
}
