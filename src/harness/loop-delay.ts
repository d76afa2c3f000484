/**
 * How late the race harness's own event loop ran during the faults. The harness process also runs the embedded
 * homeserver, the main supervisor, the notifier launcher, the senders and the checkers, so while its event loop
 * is late every server answer waits too, under every strategy alike: the report says so, so that a latency is
 * not read as the strategy's when it was the machine's.
 *
 * Runtime: node. Uses `perf_hooks.monitorEventLoopDelay`, whose samples are the whole time between two of its
 * timer turns (about `resolutionMs` when nothing is in the way), so the figures here subtract `resolutionMs`: a
 * loop that was never held up reads 0.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

const resolutionMs = 10;

export interface LoopDelaySummary {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export class LoopDelayMonitor {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: resolutionMs });

  start(): void {
    this.histogram.enable();
  }

  /** Stops measuring (idempotent) and summarises what was measured, in whole milliseconds. */
  stop(): LoopDelaySummary {
    this.histogram.disable();
    return loopDelayOf({ p50Ns: this.histogram.percentile(50), p99Ns: this.histogram.percentile(99), maxNs: this.histogram.max });
  }
}

/** The histogram's figures (nanoseconds, each a whole turn) as delays past the timer's own period. */
export function loopDelayOf(figures: { p50Ns: number; p99Ns: number; maxNs: number }): LoopDelaySummary {
  const late = (ns: number): number => (Number.isFinite(ns) ? Math.max(0, Math.round(ns / 1e6 - resolutionMs)) : 0);
  return { p50Ms: late(figures.p50Ns), p99Ms: late(figures.p99Ns), maxMs: late(figures.maxNs) };
}
