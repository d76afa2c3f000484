// The schedule's floor: when the race's faults let a main process handle a message at all.
import { describe, expect, it } from 'vitest';
import { forcedMsBetween, MainAvailability, mergeIntervals, splitAtScheduleFloor, subtractIntervals } from '../../src/harness/main-availability';
import type { HandledRow } from '../../src/harness/oracle';
import { readMainLog } from '../../src/harness/strategy-report';
import { appendProcessEvents } from '../../src/store/event-log';
import { tempStore } from '../unit/store/temp-store';

/** A `MainAvailability` on a clock the test sets. */
function clocked(): { availability: MainAvailability; at: (ms: number) => void } {
  let nowMs = 0;
  return { availability: new MainAvailability(() => nowMs), at: (ms) => (nowMs = ms) };
}

/** A `MainAvailability` that saw these main processes come and go: `[pid, spawnedAtMs, exitedAtMs]`, in order. */
function withLives(lives: ReadonlyArray<[number, number, number]>): MainAvailability {
  const { availability, at } = clocked();
  for (const [pid, fromMs, toMs] of lives) {
    at(fromMs);
    availability.mainStarted(pid);
    at(toMs);
    availability.mainExited();
  }
  return availability;
}

describe('main availability', () => {
  it('main availability: a message sent while main is down waits for the next main that did something; one killed before it ran anything does not count', () => {
    const { availability, at } = clocked();
    at(0);
    availability.mainStarted(1);
    at(100);
    availability.mainExited();
    at(300);
    availability.mainStarted(2);
    at(350);
    availability.mainExited();
    at(800);
    availability.mainStarted(3);
    at(2000);
    const able = availability.ableIntervals((incarnation) => incarnation.pid !== 2);
    expect(able).toEqual([
      { fromMs: 0, toMs: 100 },
      { fromMs: 800, toMs: 2000 },
    ]);
    expect(forcedMsBetween(50, 60, able)).toBe(0);
    expect(forcedMsBetween(150, 900, able)).toBe(650);
    expect(forcedMsBetween(320, 900, able)).toBe(480);
    // Counted, the process that did nothing would have handled a message at 340 with no wait forced.
    expect(forcedMsBetween(320, 340, availability.ableIntervals(() => true))).toBe(0);
    expect(availability.mainIncarnations().map(({ pid, toMs }) => [pid, toMs])).toEqual([
      [1, 100],
      [2, 350],
      [3, 2000],
    ]);
  });

  it('main availability: a SIGSTOP and a write lock cut the time main could handle; overlapping ones are one cut, and one still open ends when read', () => {
    const { availability, at } = clocked();
    const lock = {};
    at(0);
    availability.mainStarted(1);
    at(900);
    availability.mainStopped();
    at(1100);
    availability.lockHeld(lock);
    at(1200);
    availability.mainContinued();
    at(1500);
    availability.lockReleased(lock);
    at(1700);
    availability.mainStopped();
    at(1800);
    const able = availability.ableIntervals(() => true);
    expect(able).toEqual([
      { fromMs: 0, toMs: 900 },
      { fromMs: 1500, toMs: 1700 },
    ]);
    expect(forcedMsBetween(950, 1600, able)).toBe(550);
    // A gap still open at the handling is not forced: the handling shows that a main process could handle then.
    expect(forcedMsBetween(1750, 1790, able)).toBe(0);
    expect(forcedMsBetween(950, 1490, able)).toBe(0);
  });

  it('main availability: a stop that the process dies in ends at its exit, and a later stall is its own', () => {
    const { availability, at } = clocked();
    at(0);
    availability.mainStarted(1);
    at(100);
    availability.mainStopped();
    at(400);
    availability.mainExited();
    at(500);
    availability.mainStarted(2);
    at(1000);
    expect(availability.ableIntervals(() => true)).toEqual([
      { fromMs: 0, toMs: 100 },
      { fromMs: 500, toMs: 1000 },
    ]);
  });

  it('main availability: merging joins overlapping and touching intervals and drops empty ones; subtracting keeps what is left on both sides', () => {
    expect(mergeIntervals([{ fromMs: 5, toMs: 9 }, { fromMs: 0, toMs: 3 }, { fromMs: 3, toMs: 4 }, { fromMs: 7, toMs: 12 }, { fromMs: 20, toMs: 20 }])).toEqual([
      { fromMs: 0, toMs: 4 },
      { fromMs: 5, toMs: 12 },
    ]);
    expect(subtractIntervals([{ fromMs: 0, toMs: 100 }], [{ fromMs: 10, toMs: 20 }, { fromMs: 50, toMs: 150 }])).toEqual([
      { fromMs: 0, toMs: 10 },
      { fromMs: 20, toMs: 50 },
    ]);
    expect(subtractIntervals([{ fromMs: 0, toMs: 10 }], [{ fromMs: 0, toMs: 10 }])).toEqual([]);
  });
  it('main availability: the split counts a main process only once it did something, and only from the quickest start-up after its spawn; a trimmed log counts the processes before it', () => {
    // pid 1 runs 0-400 and leaves no trace; pid 2 (450-1000) logs first at 600, a start-up of 150 ms; pid 3
    // (1200-2000) handles a row at 1400, 200 ms after its spawn.
    const availability = withLives([[1, 0, 400], [2, 450, 1000], [3, 1200, 2000]]);
    const handled: HandledRow[] = [
      { seq: 1, tag: 's0-1', sentAtMs: 700, storedAtMs: 750, handledAtMs: 800 },
      { seq: 2, tag: 's0-0', sentAtMs: 20, storedAtMs: 850, handledAtMs: 900 },
      { seq: 3, tag: 's0-2', sentAtMs: 1050, storedAtMs: 1300, handledAtMs: 1400 },
    ];
    const log = { firstAtMsByPid: new Map([[2, 600]]), wholeSinceMs: Number.NEGATIVE_INFINITY };
    // Main could handle from 600 to 1000 and from 1350 (150 ms after pid 3's spawn); the quickest delivery took
    // 100 ms. s0-0 (sent at 20) could be handled from 600, s0-1 at once (800), s0-2 (sent at 1050) from 1350.
    expect(splitAtScheduleFloor(availability, handled, log)).toEqual({ forced: [100, 300, 580], beyond: [0, 50, 300] });
    // The log kept nothing before 500: pid 1 may have done something, from 150 ms after its spawn. s0-0 could then
    // be handled from 150 to 400, and the gap from 400 to 600, when no main process could, is forced too.
    expect(splitAtScheduleFloor(availability, handled, { ...log, wholeSinceMs: 500 })).toEqual({ forced: [100, 300, 330], beyond: [0, 50, 550] });
  });

  it('main availability: a stretch after the first chance in which no main process could handle anything is forced too; the time one could is not', () => {
    // pid 1 (0-300) logs its first request at 100; pid 2 (400-600) is killed before it does anything; pid 3
    // (1000-2000) handles both messages. s0-1 is sent at 150 and stored by a notifier just before pid 1's death.
    const availability = withLives([[1, 0, 300], [2, 400, 600], [3, 1000, 2000]]);
    const handled: HandledRow[] = [
      { seq: 1, tag: 's0-1', sentAtMs: 150, storedAtMs: 290, handledAtMs: 1200 },
      { seq: 2, tag: 's0-2', sentAtMs: 1150, storedAtMs: 1155, handledAtMs: 1160 },
    ];
    const log = { firstAtMsByPid: new Map([[1, 100]]), wholeSinceMs: Number.NEGATIVE_INFINITY };
    // Main could handle from 100 to 300 and from 1100 (the quickest start-up, 100 ms, after pid 3's spawn); the
    // quickest delivery took 10 ms. Of s0-1's 1,050 ms, 10 are the quickest delivery and 800 the gap from 300 to
    // 1100; the 140 ms pid 1 could have handled it and the 100 ms pid 3 took are beyond.
    expect(splitAtScheduleFloor(availability, handled, log)).toEqual({ forced: [10, 810], beyond: [0, 240] });
  });

  it("main availability: a main process's first act is its first sync request or outcome, not a lease's bookkeeping, which only explicit-lease writes", () => {
    const store = tempStore();
    const event = (pid: number, atMs: number, kind: string, process = 'main') => ({ atMs, process, pid, kind, detail: {} });
    appendProcessEvents(store, [
      // pid 7 takes the lease at 100 and logs its first request at 180; pid 8 takes the lease and is killed
      // before its first long poll; pid 9 (explicit-cas) loses a compare-and-set at 210 and commits at 250.
      event(7, 100, 'lease-acquired'),
      event(7, 180, 'request'),
      event(7, 190, 'lease-released'),
      event(8, 400, 'lease-acquired'),
      event(9, 210, 'stale'),
      event(9, 250, 'commit'),
      event(10, 50, 'request', 'notifier'),
    ]);
    const log = readMainLog(store);
    expect([...log.firstAtMsByPid].sort((a, b) => a[0] - b[0])).toEqual([[7, 180], [9, 250]]);
    expect(log.wholeSinceMs).toBe(Number.NEGATIVE_INFINITY);
  });
});
