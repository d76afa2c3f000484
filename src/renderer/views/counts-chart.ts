/**
 * The delivery counters over time. The host sends only the current counters, so this view keeps their
 * history itself, sampled at most every `sampleIntervalMs` and bounded, starting when the page opened.
 *
 * Runtime: browser.
 */
import type { DeliveryCounters } from '../../shared/ui-api';
import { byTestId } from '../dom';
import { createTimeChart } from './chart-frame';
import type { View } from './view';

const sampleIntervalMs = 250;
const samplesKept = 2400;
const series: Array<{ key: keyof DeliveryCounters; colour: string }> = [
  { key: 'sent', colour: '#8b949e' },
  { key: 'received', colour: '#3fb950' },
  { key: 'pending', colour: '#d29922' },
  { key: 'lost', colour: '#f85149' },
  { key: 'duplicated', colour: '#db61a2' },
];

export function createCountsChart(root: ParentNode): View {
  const chart = createTimeChart(
    byTestId(root, 'chart-counts'),
    'messages',
    series.map((s) => ({ label: s.key, colour: s.colour })),
  );
  const times: number[] = [];
  const columns: number[][] = series.map(() => []);
  let lastSampleMs = -Infinity;
  return {
    render(snapshot) {
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
