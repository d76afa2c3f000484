/**
 * This run's delivery counters over time. The host sends only the current counters, so this view keeps their
 * history itself, sampled at most every `sampleIntervalMs` and bounded, starting when the page opened. A reset
 * of the data directory starts a new run: the history starts over with it.
 *
 * Runtime: browser.
 */
import type { DeliveryCounters } from '../../shared/ui-api';
import { byTestId } from '../dom';
import { createTimeChart } from './chart-frame';
import type { View } from './view';

const sampleIntervalMs = 250;
const samplesKept = 2400;
const series: Array<{ key: keyof DeliveryCounters; label: string; colour: string }> = [
  { key: 'sent', label: 'sent', colour: '#8b949e' },
  { key: 'received', label: 'received', colour: '#3fb950' },
  { key: 'pendingOnServer', label: 'pending on server', colour: '#58a6ff' },
  { key: 'pendingLocally', label: 'pending locally', colour: '#a5d6ff' },
  { key: 'lost', label: 'lost', colour: '#f85149' },
  { key: 'duplicated', label: 'duplicated', colour: '#db61a2' },
];

export function createCountsChart(root: ParentNode): View {
  const chart = createTimeChart(
    byTestId(root, 'chart-counts'),
    'messages',
    series.map((s) => ({ label: s.label, colour: s.colour })),
  );
  const times: number[] = [];
  const columns: number[][] = series.map(() => []);
  let lastSampleMs = -Infinity;
  let runStartedAtMs = -1;
  return {
    render(snapshot) {
      if (snapshot.run.startedAtMs !== runStartedAtMs) {
        runStartedAtMs = snapshot.run.startedAtMs;
        times.length = 0;
        for (const column of columns) column.length = 0;
      }
      if (snapshot.atMs - lastSampleMs < sampleIntervalMs) return;
      lastSampleMs = snapshot.atMs;
      times.push(snapshot.atMs / 1000);
      series.forEach((s, i) => columns[i]?.push(snapshot.counters[s.key]));
      if (times.length > samplesKept) {
        times.shift();
        for (const column of columns) column.shift();
      }
      chart.setData([times, ...columns]);
    },
  };
}
