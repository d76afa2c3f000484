/**
 * The store's housekeeping, in bounded steps: inbox compaction, the notifier's window, retention of the history
 * tables, the switch to incremental auto-vacuum, and giving free pages back to the file system.
 *
 * Runtime: node. The main process owns it (src/main/host/main-sync.ts calls `step()` after each of its consume
 * passes); other processes only append and consume. Why a background step and not inside the consumers' own
 * transactions: a consume chunk holds the write lock that the other process's batch commit waits for, and
 * deleting in it would lengthen every chunk; here the work is batched (up to `COMPACTION_BATCH_ROWS` rows per
 * transaction, once per `compactIntervalMs`, or per `behindIntervalMs` while behind) and each task is its own
 * short transaction, so a commit waits for at most one of them (README figures: a few milliseconds each).
 * Two cadences, and a third while behind:
 * - every `compactIntervalMs`: the notifier window (compaction waits for that cursor), inbox compaction (rows
 *   every consumer passed, `COMPACTION_BATCH_ROWS` at most), pruning `handled` for every consumer with a cursor
 *   (it grows with the inbox; as many rows per consumer), then an incremental vacuum step (at most
 *   `vacuumPagesPerStep` pages, only when more than `MIN_FREE_PAGES` are free; once per interval even while
 *   compaction is behind) and a PASSIVE checkpoint, so the file gives back what compaction and pruning freed
 *   within seconds. On the slow cadence alone it carried up to 30 s of freed pages (700 pages, a fifth of the
 *   file, at the end of a soak); a step of 512 pages takes a few milliseconds, one short transaction;
 * - every `slowIntervalMs`: pruning `handled` (any consumer), `event_log`, `notifications`, `timeline`, the
 *   hashes of decrypted Olm messages older than `OLM_MESSAGE_HASH_MAX_AGE_MS`, and
 *   the one-time auto-vacuum conversion once compaction has caught up;
 * - every `behindIntervalMs` (50 ms), for a task that stopped at its bound: compaction, or the slow tasks. At
 *   one bounded batch a second, compaction removed 1,000 rows a second while a drain or a burst delivers ten or
 *   twenty times that (`todevice bench --soak`: 875,000 rows left in the inbox after 1,000,000 messages); at
 *   twenty batches a second it keeps pace, and each batch is still its own short transaction (about 5 ms for
 *   1,000 rows), so a commit still waits for at most one of them. A step that comes later than that (the main
 *   process steps after its consume passes, every 250 ms when idle) runs one batch per interval that passed, at
 *   most ten, each its own transaction. Once caught up, the cadences above apply again.
 * Nothing here decides what a consumer sees except the notifier window, and nothing touches a row ahead of a
 * cursor; a crash between two tasks leaves each done or not done, and the next step carries on. The first step
 * registers the notifier's cursor (at 0) if no notifier has run yet, so the rows a first notifier will need are
 * held for it within its window; a device that never runs a notifier keeps at most that window of rows.
 */
import type { Clock } from '../shared/clock';
import { systemClock } from '../shared/clock';
import { convertToIncrementalAutoVacuum, incrementalVacuumStep, type ConversionResult } from './auto-vacuum';
import { listCursors, NOTIFIER_CONSUMER, registerConsumer } from './cursors';
import { COMPACTION_BATCH_ROWS, compactInbox, MAINTENANCE_SCOPE, skipPastWindow } from './inbox-compaction';
import { handledConsumers, pruneEventLog, pruneHandled, pruneNotifications, pruneTimeline, type PruneOutcome } from './log-retention';
import type { ClientStore } from './open-store';
import { pruneOlmMessageHashes } from './olm-bookkeeping';
import { DAY_MS, retentionPolicyOf } from './retention-policy';
import { addToCounter, setCounter } from './store-counters';
import { checkpointPassive } from './wal-checkpoint';

export interface MaintenanceOptions {
  store: ClientStore;
  clock?: Clock;
  /** The device runs `legacy`: the notifier only ever saw rows it fetched, so its window keeps only their keys. */
  legacy?: boolean;
  compactIntervalMs?: number;
  slowIntervalMs?: number;
  /** How soon a task that stopped at its bound runs again (see the module header). */
  behindIntervalMs?: number;
  /** Pages one vacuum step returns at most (4 KiB each). */
  vacuumPagesPerStep?: number;
}

export interface MaintenanceReport {
  inboxDeleted: number;
  notifierSkipped: number;
  pruned: { handled: number; eventLog: number; notifications: number; timeline: number; olmMessageHashes: number };
  vacuumPagesFreed: number;
  /** Present when the conversion to incremental auto-vacuum was attempted in this step. */
  autoVacuum?: ConversionResult;
}

export const DEFAULT_COMPACT_INTERVAL_MS = 1000;
export const DEFAULT_SLOW_INTERVAL_MS = 30_000;
export const DEFAULT_BEHIND_INTERVAL_MS = 50;
/**
 * `handled` rows one prune removes per consumer, as many as one compaction batch: pruning folds each row into the
 * running totals (a distinct-tag lookup per row), 15 ms for 1,000 rows here and 50 to 100 ms for the prune
 * functions' default 5,000, a pause of the main process's loop and of every other writer. A drain adds rows at
 * the inbox's pace, so the same batch, at the same cadence, keeps up with it.
 */
const HANDLED_BATCH_ROWS = COMPACTION_BATCH_ROWS;
/** Batches one step runs at most while behind (see `behindBatches`). */
const MAX_BEHIND_BATCHES = 10;
const DEFAULT_VACUUM_PAGES_PER_STEP = 512;
/**
 * How long the hash of a decrypted Olm message is kept, so that the same message delivered again is counted as
 * a replay and not as a broken session. A batch is delivered again only until its acknowledgement (the next
 * request's `since`) reaches the server, which is seconds or, for a device that went offline after
 * decrypting, the day it comes back; a month covers that with room. Room keys are a few messages a day per
 * device, so a month of hashes is small; a drain of thousands still goes at the next slow step after a month.
 */
export const OLM_MESSAGE_HASH_MAX_AGE_MS = 30 * DAY_MS;
/** Free pages left alone: the next inserts reuse them, and returning them would only make the file grow again. */
const MIN_FREE_PAGES = 256;

export class StoreMaintenance {
  private readonly store: ClientStore;
  private readonly clock: Clock;
  private readonly legacy: boolean;
  private readonly compactIntervalMs: number;
  private readonly slowIntervalMs: number;
  private readonly behindIntervalMs: number;
  private readonly vacuumPagesPerStep: number;
  private nextCompactAtMs = Number.NEGATIVE_INFINITY;
  private nextSlowAtMs = Number.NEGATIVE_INFINITY;
  private nextVacuumAtMs = Number.NEGATIVE_INFINITY;
  private inboxCaughtUp = false;
  private slowCaughtUp = true;
  private lastCompactAtMs = Number.NEGATIVE_INFINITY;
  private lastSlowAtMs = Number.NEGATIVE_INFINITY;
  private notifierRegistered = false;

  constructor(options: MaintenanceOptions) {
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    this.legacy = options.legacy ?? false;
    this.compactIntervalMs = options.compactIntervalMs ?? DEFAULT_COMPACT_INTERVAL_MS;
    this.slowIntervalMs = options.slowIntervalMs ?? DEFAULT_SLOW_INTERVAL_MS;
    this.behindIntervalMs = options.behindIntervalMs ?? DEFAULT_BEHIND_INTERVAL_MS;
    this.vacuumPagesPerStep = options.vacuumPagesPerStep ?? DEFAULT_VACUUM_PAGES_PER_STEP;
  }

  /** Runs what is due; returns undefined when nothing was. A db-busy error propagates, and the task is retried next time. */
  step(): MaintenanceReport | undefined {
    const nowMs = this.clock.nowMs();
    const compactDue = nowMs >= this.nextCompactAtMs;
    const slowDue = nowMs >= this.nextSlowAtMs;
    if (!compactDue && !slowDue) return undefined;
    // With a compaction, at most once per `compactIntervalMs` (a compaction behind comes every 50 ms).
    const vacuumDue = compactDue && nowMs >= this.nextVacuumAtMs;
    const report = emptyReport();
    if (compactDue) {
      const batches = this.inboxCaughtUp ? 1 : this.behindBatches(this.lastCompactAtMs, nowMs);
      for (let batch = 0; batch < batches; batch += 1) {
        this.compact(nowMs, report);
        if (this.inboxCaughtUp) break;
      }
      this.lastCompactAtMs = nowMs;
      this.nextCompactAtMs = nowMs + (this.inboxCaughtUp ? this.compactIntervalMs : this.behindIntervalMs);
    }
    if (slowDue) {
      const batches = this.slowCaughtUp ? 1 : this.behindBatches(this.lastSlowAtMs, nowMs);
      for (let batch = 0; batch < batches; batch += 1) {
        this.slowCaughtUp = this.slowTasks(nowMs, report);
        if (this.slowCaughtUp) break;
      }
      this.lastSlowAtMs = nowMs;
      this.nextSlowAtMs = nowMs + (this.slowCaughtUp ? this.slowIntervalMs : this.behindIntervalMs);
    }
    if (vacuumDue) {
      // After the deletions above, so the pages they freed can go in this step.
      this.vacuum(nowMs, report);
      this.nextVacuumAtMs = nowMs + this.compactIntervalMs;
    }
    return report;
  }

  /**
   * While behind, the batches a step runs: one per `behindIntervalMs` since the last step (the main process steps
   * after its consume passes, which come every 250 ms when it is idle, so this keeps the behind rate whatever the
   * caller's rhythm), at most `MAX_BEHIND_BATCHES`; each batch is its own short transaction.
   */
  private behindBatches(lastAtMs: number, nowMs: number): number {
    if (!Number.isFinite(lastAtMs)) return 1;
    return Math.min(MAX_BEHIND_BATCHES, Math.max(1, Math.floor((nowMs - lastAtMs) / this.behindIntervalMs)));
  }

  /** Every task now, whatever the schedule (tests, and a store that must be trimmed at once). */
  runAll(): MaintenanceReport {
    const nowMs = this.clock.nowMs();
    const report = emptyReport();
    this.compact(nowMs, report);
    this.slowTasks(nowMs, report);
    this.vacuum(nowMs, report);
    return report;
  }

  private compact(nowMs: number, report: MaintenanceReport): void {
    if (!this.notifierRegistered) {
      // The notifier must see the rows it has yet to run for (within its window), including those it fetches
      // itself and commits just before its first consume pass: its cursor holds them from the start, at 0,
      // rather than from its first run (until which an unregistered consumer would hold nothing back).
      registerConsumer(this.store, NOTIFIER_CONSUMER, this.clock);
      this.notifierRegistered = true;
    }
    const policy = retentionPolicyOf(this.store);
    // Compaction stops at the notifier's cursor, so the window moves that cursor first, at the same cadence: on the
    // slow one alone, the inbox grew by 30 s of arrivals between two moves (220,000 rows in a soak).
    const skipped = skipPastWindow(this.store, NOTIFIER_CONSUMER, policy.notifierWindow, {
      nowMs,
      ...(this.legacy ? { fetchedBy: NOTIFIER_CONSUMER } : {}),
    });
    report.notifierSkipped += skipped;
    const outcome = compactInbox(this.store, { limit: policy.inbox, nowMs });
    report.inboxDeleted += outcome.deleted;
    // `handled` gains a row for every inbox row a consumer handles, so it is pruned at the inbox's cadence: on the
    // slow one alone it grew by up to 30 s of arrivals (400,000 rows in a soak). Consumers with a cursor here;
    // the slow tasks also prune any other consumer's rows.
    let handledCaughtUp = true;
    for (const { consumer } of listCursors(this.store)) {
      const pruned = pruneHandled(this.store, consumer, { limit: policy.handled, nowMs, maxRows: HANDLED_BATCH_ROWS });
      report.pruned.handled += pruned.deleted;
      handledCaughtUp &&= pruned.caughtUp;
    }
    // Behind after a drain, compaction comes back after `behindIntervalMs`, not after every commit: one bounded
    // batch at a time keeps pace with arrivals, and the commits it would contend with wait for one batch at most.
    this.inboxCaughtUp = skipped === 0 && outcome.caughtUp && handledCaughtUp;
  }

  /** Returns whether every task caught up (none stopped at its bound). */
  private slowTasks(nowMs: number, report: MaintenanceReport): boolean {
    const policy = retentionPolicyOf(this.store);
    const store = this.store;
    const outcomes: PruneOutcome[] = [];
    for (const consumer of handledConsumers(store)) {
      const outcome = pruneHandled(store, consumer, { limit: policy.handled, nowMs, maxRows: HANDLED_BATCH_ROWS });
      report.pruned.handled += outcome.deleted;
      outcomes.push(outcome);
    }
    const eventLog = pruneEventLog(store, { limit: policy.eventLog, nowMs });
    const notifications = pruneNotifications(store, { limit: policy.notifications, nowMs });
    const timeline = pruneTimeline(store, { limit: policy.timeline, nowMs });
    report.pruned.eventLog += eventLog.deleted;
    report.pruned.notifications += notifications.deleted;
    report.pruned.timeline += timeline.deleted;
    report.pruned.olmMessageHashes += pruneOlmMessageHashes(store, nowMs - OLM_MESSAGE_HASH_MAX_AGE_MS);
    outcomes.push(eventLog, notifications, timeline);
    if (this.inboxCaughtUp) {
      const conversion = convertToIncrementalAutoVacuum(store);
      if (conversion.kind !== 'already-incremental') report.autoVacuum = conversion;
    }
    return outcomes.every((outcome) => outcome.caughtUp) && this.inboxCaughtUp;
  }

  private vacuum(nowMs: number, report: MaintenanceReport): void {
    const freed = incrementalVacuumStep(this.store, { maxPages: this.vacuumPagesPerStep, minFreePages: MIN_FREE_PAGES });
    report.vacuumPagesFreed += freed;
    if (freed === 0) return;
    this.store.immediate(() => {
      addToCounter(this.store, 'vacuum', 'pages_freed', freed);
      setCounter(this.store, MAINTENANCE_SCOPE, 'last_vacuum_at_ms', nowMs);
    });
    // The freed pages leave the file when the WAL is copied back; PASSIVE never waits for anyone.
    checkpointPassive(this.store);
  }
}

function emptyReport(): MaintenanceReport {
  return {
    inboxDeleted: 0,
    notifierSkipped: 0,
    pruned: { handled: 0, eventLog: 0, notifications: 0, timeline: 0, olmMessageHashes: 0 },
    vacuumPagesFreed: 0,
  };
}
