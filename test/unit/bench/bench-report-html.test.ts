import { describe, expect, it } from 'vitest';
import { renderBenchHtml } from '../../../src/bench/bench-report-html';
import { judge, QUICK_SIZES, type Figure } from '../../../src/bench/bench-types';
import { countLabel } from '../../../src/bench/case-scaling';
import type { BenchReport } from '../../../src/bench/run-bench';

const figure = (caseNumber: number, name: string, value: number, ratio: number): Figure => ({
  caseNumber, name, value, baselineName: 'small <queue>', baseline: value / ratio, unit: 'events/s', better: 'higher', target: { op: '>=', ratio: 0.8 },
});
const report = (figures: Figure[]): BenchReport => ({
  quick: false, sizes: QUICK_SIZES, machine: { cpus: 2, node: 'v20', platform: 'linux x64' }, startedAt: '2026-01-01T00:00:00.000Z',
  elapsedS: 1, figures: figures.map(judge), warnings: [],
});

describe('bench HTML report', () => {
  it('bench HTML report: the scaling figures get a ratio chart, coloured by verdict, with their targets marked', () => {
    const html = renderBenchHtml(report([figure(1, 'drain FULL', 100, 0.9), figure(8, 'drain, 1M queued', 90, 0.9), figure(8, 'drain, 100k queued', 50, 0.5)]));
    const chart = /<svg class="chart"[\s\S]*?<\/svg>/.exec(html)?.[0] ?? '';
    expect(chart).toContain('drain, 1M queued');
    expect(chart).not.toContain('drain FULL');
    expect(chart.match(/fill="#1a7f37"/g)).toHaveLength(1);
    expect(chart.match(/fill="#cf222e"/g)).toHaveLength(1);
    expect(chart.match(/<title>target &gt;= 0.8×<\/title>/g)).toHaveLength(2);
    expect(html).toContain('small &lt;queue&gt;');
    expect(html).toContain('2 of 3 targets hold');
  });

  it('bench HTML report: no scaling figures, no chart', () => {
    expect(renderBenchHtml(report([figure(1, 'drain FULL', 100, 0.9)]))).not.toContain('<svg');
  });

  it('bench HTML report: counts are named 1k, 100k, 1M', () => {
    expect([100, 1000, 10_000, 100_000, 1_000_000, 1500].map(countLabel)).toEqual(['100', '1k', '10k', '100k', '1M', '1500']);
  });
});
