/**
 * The `main` consumer: hands the shared inbox's rows to main's effects (room keys stored, a `handled` row),
 * each pass one consume transaction in which the effects and the cursor move commit together.
 *
 * Runtime: node. This module and what it imports reach the store only: no network client, no sync engine, no
 * crypto library. That is what lets a main process that starts again after a kill handle the rows other
 * processes committed meanwhile before it has loaded anything else (`consumeWhileStarting`, called by the sync
 * process's entry before it imports the sync loop). Measured on a quiet 2-core machine, spawn to the first pass
 * done: 85 ms at the median this way, 109 ms when the entry loaded the engine, its HTTP client and `node:crypto`
 * first (a bare Node process reaches its first line at about 55 ms). On a loaded machine every one of those
 * milliseconds takes several.
 *
 * Guarantees: a pass that meets another process holding the write lock past the busy timeout (F16) leaves the
 * rows in the inbox for the next pass; any other error is a bug and propagates. A SIGKILL at any line loses
 * nothing: what was committed stays in the inbox and is consumed after the restart, from the stored cursor.
 */
import { consumeInbox } from '../../engine/consumer';
import type { Strategy } from '../../engine/engine-types';
import { applyInboxEffects } from '../../engine/inbox-effects';
import type { KillPoints } from '../../engine/kill-points';
import { systemClock } from '../../shared/clock';
import { MAIN_CONSUMER } from '../../store/cursors';
import { lastInboxSeq } from '../../store/inbox';
import type { ClientStore } from '../../store/open-store';
import { classifySqliteError } from '../../store/sqlite-errors';

export { MAIN_CONSUMER };

/**
 * How often main looks for rows another process appended: one read of `sqlite_sequence`. At the 250 ms of the
 * full pass, a message a notifier committed waited 125 ms on average before main handled it (the race harness's
 * latency under explicit-lease, where notifiers commit a large share of the rows). Once the sync loop runs, it
 * also looks at every commit another process makes (main-sync.ts, store-changes.ts); this is the fallback.
 */
export const inboxWatchIntervalMs = 25;
const consumeRowsPerPass = 500;

/**
 * The `main` consumer while the process is still starting: one pass at once, then a pass whenever the inbox's
 * last seq grew (the same 25 ms watch as the sync loop's), until `stop()`. The process that starts again after a
 * kill can do nothing else yet: loading the sync loop, libolm and the device's Olm account takes some 100 ms
 * (more on a loaded machine) before it can decrypt a batch, while the rows other processes committed in the
 * meantime need none of it (Olm is decrypted at commit, room keys are sealed in their rows). Handling them is
 * the same consume transaction as ever (effects and cursor together), in this one process, never beside the
 * loop's own passes: the caller stops this before it starts the loop.
 */
export function consumeWhileStarting(input: { store: ClientStore; strategy: Strategy; killPoints: KillPoints; log?: (line: string) => void }): { stop(): void } {
  const { store, strategy, killPoints } = input;
  const log = input.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  let consumedUpToSeq = -1;
  const pass = (): void => {
    whenFree(() => (consumedUpToSeq = lastInboxSeq(store)));
    consumeWhenFree(store, strategy, killPoints, log);
  };
  pass();
  const watch = setInterval(() => whenFree(() => lastInboxSeq(store) > consumedUpToSeq && pass()), inboxWatchIntervalMs);
  return { stop: () => clearInterval(watch) };
}

/** A consume pass that leaves the rows to the next pass when another process holds the write lock (F16). */
export function consumeWhenFree(store: ClientStore, strategy: Strategy, killPoints: KillPoints, log: (line: string) => void): void {
  whenFree(() => consumeMain(store, strategy, killPoints, log));
}

/** Runs `work`; a busy store (the write lock held past the busy timeout) skips it, any other error propagates. */
export function whenFree(work: () => unknown): void {
  try {
    work();
  } catch (error) {
    if (classifySqliteError(error)?.kind !== 'db-busy') throw error;
  }
}

/** Drains the inbox into the `main` consumer, a bounded number of rows per pass. */
export function consumeMain(store: ClientStore, strategy: Strategy, killPoints: KillPoints, log: (line: string) => void): number {
  let handled = 0;
  for (let pass = 0; pass < 100; pass += 1) {
    const summary = consumeInbox({
      store,
      consumer: MAIN_CONSUMER,
      strategy,
      processName: MAIN_CONSUMER,
      killPoints,
      maxRows: consumeRowsPerPass,
      handler: (row, db) => {
        const effect = applyInboxEffects(db, MAIN_CONSUMER, row, systemClock.nowMs());
        if (effect.kind === 'bad-room-key') log(`main: ignored a malformed room key: ${effect.reason}`);
      },
    });
    handled += summary.handled;
    if (summary.handled + summary.skipped < consumeRowsPerPass) break;
  }
  return handled;
}
