// bench: `todevice bench --quick --json` runs every benchmark case and reports, for each, a finite figure, a
// finite positive baseline measured in the same run and their ratio. No timing is asserted: a quick run's sizes
// are far too small to judge the targets, and these machines are shared.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

interface ReportFigure {
  caseNumber: number;
  name: string;
  value: number;
  baseline: number;
  ratio: number;
  target?: { op: string; ratio: number };
}

describe('todevice bench --quick', () => {
  it('bench: every case produces finite figures with baselines and ratios', async () => {
    const { stdout } = await run('node', ['bin/todevice.mjs', 'bench', '--quick', '--json'], { maxBuffer: 10_000_000, timeout: 170_000 });
    const report = JSON.parse(stdout) as { quick: boolean; figures: ReportFigure[] };
    expect(report.quick).toBe(true);
    expect([...new Set(report.figures.map((f) => f.caseNumber))].sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    for (const figure of report.figures) {
      expect(Number.isFinite(figure.value), figure.name).toBe(true);
      expect(Number.isFinite(figure.baseline) && figure.baseline > 0, figure.name).toBe(true);
      expect(figure.ratio, figure.name).toBeCloseTo(figure.value / figure.baseline, 9);
    }
    expect(report.figures.filter((f) => f.target !== undefined).length).toBeGreaterThanOrEqual(13);
  }, 180_000);
});
