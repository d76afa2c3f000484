/**
 * Delivery latency over time: for each message, from the moment the homeserver accepted it to the moment its
 * batch was durably committed by one of our processes. Under faults the spread shows what retries, lost
 * responses and lease waits cost.
 *
 * Runtime: browser. The host sends a bounded window of recent samples; the chart shows that window and its
 * median and 95th percentile.
 */
import { byTestId, el, setText } from '../dom';
import { formatDurationMs } from '../format';
import { createTimeChart } from './chart-frame';
import type { View } from './view';

export function createLatencyChart(root: ParentNode): View {
  const host = byTestId(root, 'chart-latency');
  const stats = el('div', { className: 'chart-stats', testId: 'latency-stats' });
  host.before(stats);
  const chart = createTimeChart(host, 'ms', [{ label: 'latency', colour: '#58a6ff', pointsOnly: true }]);
  let drawnAtMs = -1;
  return {
    render(snapshot) {
      const samples = snapshot.latency;
      const newestMs = samples[samples.length - 1]?.atMs ?? -1;
      if (newestMs === drawnAtMs) return;
      drawnAtMs = newestMs;
      chart.setData([samples.map((s) => s.atMs / 1000), samples.map((s) => s.latencyMs)]);
      setText(stats, describe(samples.map((s) => s.latencyMs)));
    },
  };
}

function describe(latenciesMs: number[]): string {
  if (latenciesMs.length === 0) return 'no delivery yet';
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const quantile = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return `p50 ${formatDurationMs(quantile(0.5))} · p95 ${formatDurationMs(quantile(0.95))} · max ${formatDurationMs(
    sorted[sorted.length - 1] ?? 0,
  )} · ${sorted.length} samples`;
}
