/**
 * When the race's own faults let a main process handle a message at all, whatever the strategy. From this,
 * `forcedMsBetween` gives each message the part of its wait that the schedule forced: until the first moment a
 * main process could handle it, and every later stretch before its handling in which none could (the one that
 * could was killed, and the next had not started up yet). The rest, the part beyond, is the time in which a main
 * process could have handled it and had not yet: what the strategy added. A seed that kills main and restarts it
 * 1.5 s later, or holds the store's write lock for 4 s, sets a latency no strategy can beat; the part beyond is
 * what a strategy can be judged on.
 *
 * Runtime: node (bookkeeping; the main supervisor and the write-lock holders report to it as things happen, the
 * strategy report reads it at the end). A main process could handle a message sent at `s` at a moment `t` when:
 * - `t` is at least the run's fastest delivery after `s` (no message was handled sooner than that after its send,
 *   so none can be);
 * - a main process ran at `t`, and it was one that did something in the run (logged a sync request or its outcome,
 *   which every strategy logs alike, or handled a row): one killed before it ran a line of ours could not handle
 *   anything, however long it was spawned; and
 *   `t` is at least the run's quickest start-up after that process's spawn (no main process did anything sooner
 *   after its spawn, so none can);
 * - it was not stopped (SIGSTOP) and no helper held the store's write lock.
 * The forced part never overstates what the faults forced: both minimums are the least the run itself showed, a
 * process that did something counts until its exit is seen, which is at or after its death, and a write lock
 * from the moment its holder reports it held until its holder exits; and a stretch still going on when the
 * message was handled is not counted, since the handling shows a main process could. So the part beyond is, if
 * anything, too large: it keeps everything a faster process could have saved, including the life of a main
 * process that could have handled the message and was killed before it did. Times are wall-clock milliseconds
 * (`Date.now()`), the clock of the `handled` table: every process of a race runs on this host. Anything still
 * open when the intervals are read is closed at that moment.
 */

import { floorSplitSamples, latencySamples, type HandledRow } from './oracle';

/** A half-open interval `[fromMs, toMs)`. */
export interface Interval {
  fromMs: number;
  toMs: number;
}

/** One main process's life as the supervisor saw it. */
export interface MainIncarnation extends Interval {
  pid: number;
}

export class MainAvailability {
  private readonly incarnations: Array<{ pid: number; fromMs: number; toMs: number | undefined }> = [];
  private readonly blocked: Interval[] = [];
  private stoppedSinceMs: number | undefined;
  /** Write locks held now, by holder, with the time each was taken. */
  private readonly locksSinceMs = new Map<object, number>();

  constructor(private readonly now: () => number = Date.now) {}

  mainStarted(pid: number): void {
    this.incarnations.push({ pid, fromMs: this.now(), toMs: undefined });
  }

  mainExited(): void {
    this.mainContinued();
    const last = this.incarnations.at(-1);
    if (last !== undefined && last.toMs === undefined) last.toMs = this.now();
  }

  mainStopped(): void {
    this.stoppedSinceMs ??= this.now();
  }

  mainContinued(): void {
    if (this.stoppedSinceMs !== undefined) this.block(this.stoppedSinceMs);
    this.stoppedSinceMs = undefined;
  }

  /** `holder` identifies the lock until `lockReleased(holder)`; several may be held at once. */
  lockHeld(holder: object): void {
    if (!this.locksSinceMs.has(holder)) this.locksSinceMs.set(holder, this.now());
  }

  lockReleased(holder: object): void {
    const since = this.locksSinceMs.get(holder);
    if (since === undefined) return;
    this.locksSinceMs.delete(holder);
    this.block(since);
  }

  /** Every main process so far, in spawn order; one still running ends now. */
  mainIncarnations(): MainIncarnation[] {
    const nowMs = this.now();
    return this.incarnations.map(({ pid, fromMs, toMs }) => ({ pid, fromMs, toMs: toMs ?? nowMs }));
  }

  /**
   * When a main process could handle something: the lives of the incarnations `didSomething` accepts, each from
   * `startUpMs` after its spawn, less the stops and write locks. Sorted and disjoint.
   */
  ableIntervals(didSomething: (incarnation: MainIncarnation) => boolean, startUpMs = 0): Interval[] {
    const nowMs = this.now();
    const open = [this.stoppedSinceMs, ...this.locksSinceMs.values()]
      .filter((since): since is number => since !== undefined)
      .map((fromMs) => ({ fromMs, toMs: nowMs }));
    const lives = this.mainIncarnations()
      .filter(didSomething)
      .map(({ fromMs, toMs }) => ({ fromMs: fromMs + startUpMs, toMs }));
    return subtractIntervals(mergeIntervals(lives), mergeIntervals([...this.blocked, ...open]));
  }

  private block(fromMs: number): void {
    const toMs = this.now();
    if (toMs > fromMs) this.blocked.push({ fromMs, toMs });
  }
}

/** Sorted by start, overlapping or touching intervals joined, empty ones dropped. */
export function mergeIntervals(intervals: readonly Interval[]): Interval[] {
  const sorted = intervals.filter((i) => i.toMs > i.fromMs).sort((a, b) => a.fromMs - b.fromMs);
  const merged: Interval[] = [];
  for (const { fromMs, toMs } of sorted) {
    const last = merged.at(-1);
    if (last !== undefined && fromMs <= last.toMs) last.toMs = Math.max(last.toMs, toMs);
    else merged.push({ fromMs, toMs });
  }
  return merged;
}

/** `from` less `minus`, both sorted and disjoint (from `mergeIntervals`); the result is too. */
export function subtractIntervals(from: readonly Interval[], minus: readonly Interval[]): Interval[] {
  const result: Interval[] = [];
  for (const interval of from) {
    let startMs = interval.fromMs;
    for (const cut of minus) {
      if (cut.toMs <= startMs || cut.fromMs >= interval.toMs) continue;
      if (cut.fromMs > startMs) result.push({ fromMs: startMs, toMs: cut.fromMs });
      startMs = Math.max(startMs, cut.toMs);
    }
    if (startMs < interval.toMs) result.push({ fromMs: startMs, toMs: interval.toMs });
  }
  return result;
}

/**
 * Of the time from `earliestMs` (the soonest a message could be handled) to `handledAtMs` (when it was), how long
 * no main process could handle anything: the gaps before and between the `able` intervals (sorted, disjoint)
 * that had ended by `handledAtMs`. A gap still open at `handledAtMs` is not counted: the message was handled in
 * it, which shows a main process could (nothing in the run can then say otherwise).
 */
export function forcedMsBetween(earliestMs: number, handledAtMs: number, able: readonly Interval[]): number {
  let forcedMs = 0;
  let reachedMs = earliestMs;
  for (const { fromMs, toMs } of able) {
    if (fromMs > handledAtMs) break;
    if (toMs <= reachedMs) continue;
    if (fromMs > reachedMs) forcedMs += fromMs - reachedMs;
    reachedMs = toMs;
  }
  return forcedMs;
}

/** What the client's event log says of the main processes (strategy-report.ts reads it). */
export interface MainLog {
  /** Each main pid's first act in the log: a row of a kind every strategy writes alike (strategy-report.ts). */
  firstAtMsByPid: ReadonlyMap<number, number>;
  /** The log holds every row written since this moment (it is bounded); `-Infinity` when it was never trimmed. */
  wholeSinceMs: number;
}

/**
 * Each delivered message's latency (`ordered`: the main consumer's handled rows in handling order) split into
 * the part the schedule forced and the part beyond it (see the module header). A main process did something when
 * the log has an act of its pid or a row was handled during its life; its start-up is the time from its spawn to
 * the first of these. A process that ran before the log was whole is counted as having done something, which can
 * only shorten the forced part.
 */
export function splitAtScheduleFloor(availability: MainAvailability, ordered: readonly HandledRow[], log: MainLog): { forced: number[]; beyond: number[] } {
  const handledAtMs = ordered.map((row) => row.handledAtMs).sort((a, b) => a - b);
  const firstActionMs = ({ pid, fromMs, toMs }: MainIncarnation): number | undefined => {
    const handled = handledAtMs.find((atMs) => atMs >= fromMs);
    const seen = [log.firstAtMsByPid.get(pid), handled !== undefined && handled <= toMs ? handled : undefined];
    const known = seen.filter((atMs): atMs is number => atMs !== undefined);
    return known.length === 0 ? undefined : Math.min(...known);
  };
  // Each process's first act, found once: it decides both the quickest start-up and whether the process counts.
  const incarnations = availability.mainIncarnations();
  const acted = new Map(incarnations.map((incarnation) => [incarnation.pid, firstActionMs(incarnation)]));
  const startUps = incarnations.flatMap(({ pid, fromMs }) => {
    const atMs = acted.get(pid);
    return atMs === undefined ? [] : [Math.max(0, atMs - fromMs)];
  });
  const quickestStartUpMs = startUps.length === 0 ? 0 : Math.min(...startUps);
  const didSomething = ({ pid, fromMs }: MainIncarnation): boolean => fromMs < log.wholeSinceMs || acted.get(pid) !== undefined;
  const able = availability.ableIntervals(didSomething, quickestStartUpMs);
  const fastestMs = latencySamples(ordered)[0] ?? 0;
  return floorSplitSamples(ordered, (sentAtMs, handledAtMs) => fastestMs + forcedMsBetween(sentAtMs + fastestMs, handledAtMs, able));
}
