/**
 * What a run's own figures say about the machine it ran on, printed under the table so a missed target is read
 * right: a figure that misses because the machine was slow is not the same finding as one the code misses.
 *
 * Runtime: node (pure). One rule so far: when the two-fsync floor of case 2 (the live path with no protocol at
 * all, src/bench/latency-floor) alone takes more round trips than the live-latency target allows, no client
 * could have met the target in that run. That happens when fsyncs are slow, for minutes after heavy writes on
 * a shared disk (seen: 3.5× right after a full `npm test`, 2.2× a few minutes later).
 */
import type { JudgedFigure } from './bench-types';

export const FLOOR_FIGURE = 'two-fsync floor send→commit p50';
export const LIVE_FIGURE = 'live send→commit p50';

export function benchWarnings(figures: readonly JudgedFigure[]): string[] {
  const floor = figures.find((f) => f.name === FLOOR_FIGURE);
  const live = figures.find((f) => f.name === LIVE_FIGURE);
  const limit = live?.target?.ratio;
  if (floor === undefined || limit === undefined || !(floor.ratio > limit)) return [];
  return [
    `the two-fsync floor alone took ${floor.ratio.toFixed(2)}× a round trip, above the ${limit}× live-latency target: ` +
      "this machine's fsyncs are slow right now (often for minutes after heavy writes); rerun case 2's figures on a quiet machine",
  ];
}
