/**
 * Small statistics helpers for the benchmark: percentiles over raw samples (nearest rank, no interpolation, so
 * a p99 of 100 samples is the 99th smallest) and a monotonic clock in fractional milliseconds.
 *
 * Runtime: node.
 */
import { performance } from 'node:perf_hooks';

export function nowMs(): number {
  return performance.now();
}

export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

/** Events (or requests) per second over `elapsedMs`. */
export function perSecond(count: number, elapsedMs: number): number {
  return elapsedMs <= 0 ? Number.NaN : (count * 1000) / elapsedMs;
}

/**
 * Of rounds that each measured a value and its baseline back to back, the round whose ratio is the median
 * (the lower median for an even count). Reporting that round's own pair, rather than the median value over the
 * median baseline, keeps every figure one real measurement, and a round disturbed by the shared machine moves
 * its own ratio only, not the other rounds'.
 */
export function medianRound(values: readonly number[], baselines: readonly number[]): { value: number; baseline: number; round: number } {
  if (values.length === 0 || values.length !== baselines.length) throw new Error(`medianRound: ${values.length} values, ${baselines.length} baselines`);
  const rounds = values.map((value, round) => ({ value, baseline: baselines[round] ?? Number.NaN, round }));
  rounds.sort((a, b) => a.value / a.baseline - b.value / b.baseline);
  const middle = rounds[Math.floor((rounds.length - 1) / 2)];
  if (middle === undefined) throw new Error('medianRound: no rounds');
  return middle;
}
