// bench: `todevice bench --quick --json` runs every benchmark case (or, with `--case`, those named) (the scaling case 8 included) and reports, for each, a finite figure, a
// finite positive baseline measured in the same run and their ratio; with `--out` it also writes the JSON and the
// HTML page (the scaling chart in it). No timing is asserted: a quick run's sizes
// are far too small to judge the targets, and these machines are shared.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'todevice-bench-out-'));
    const { stdout } = await run('node', ['bin/todevice.mjs', 'bench', '--quick', '--json', '--out', out], { maxBuffer: 10_000_000, timeout: 170_000 });
    const report = JSON.parse(stdout) as { quick: boolean; figures: ReportFigure[] };
    expect(JSON.parse(fs.readFileSync(path.join(out, 'bench.json'), 'utf8'))).toEqual(report);
    const html = fs.readFileSync(path.join(out, 'bench.html'), 'utf8');
    expect(html).toContain('aria-label="ratio of each scaling figure to its baseline"');
    expect(html).toContain("one batch's commit, inbox of 5k");
    fs.rmSync(out, { recursive: true, force: true });
    expect(report.quick).toBe(true);
    expect([...new Set(report.figures.map((f) => f.caseNumber))].sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const figure of report.figures) {
      expect(Number.isFinite(figure.value), figure.name).toBe(true);
      expect(Number.isFinite(figure.baseline) && figure.baseline > 0, figure.name).toBe(true);
      expect(figure.ratio, figure.name).toBeCloseTo(figure.value / figure.baseline, 9);
    }
    expect(report.figures.filter((f) => f.target !== undefined).length).toBeGreaterThanOrEqual(13);
  }, 180_000);

  it('bench: --case runs only the cases named, and an unknown case is a usage error', async () => {
    const { stdout } = await run('node', ['bin/todevice.mjs', 'bench', '--quick', '--json', '--case', '2,7'], { maxBuffer: 10_000_000, timeout: 170_000 });
    const report = JSON.parse(stdout) as { figures: ReportFigure[] };
    expect([...new Set(report.figures.map((f) => f.caseNumber))].sort()).toEqual([2, 7]);
    const refused = await run('node', ['bin/todevice.mjs', 'bench', '--case', '9']).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(refused?.code).toBe(2);
    expect(refused?.stderr).toContain('invalid case "9"');
  }, 180_000);
});
