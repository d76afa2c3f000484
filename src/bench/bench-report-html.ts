/**
 * `todevice bench --out DIR`'s HTML page: every judged figure in a table, and for the scaling case (8) a chart
 * of each figure's ratio to its baseline with its target marked, so "flat" reads at a glance. One
 * self-contained page in the race report's style (src/harness/report-html.ts, whose stylesheet it reuses):
 * inline CSS and SVG, no script, no network.
 *
 * Runtime: node (pure string building). Every value from the run is escaped. Colour as on the race report:
 * green = the target holds, red = it does not, blue = a figure with no target.
 */
import { css, escapeHtml } from '../harness/report-html';
import type { JudgedFigure } from './bench-types';
import type { BenchReport } from './run-bench';

const SCALING_CASE = 8;

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

const tone = (figure: JudgedFigure): string => (figure.pass === undefined ? '' : figure.pass ? 'good' : 'bad');

function figuresTable(figures: readonly JudgedFigure[]): string {
  const rows = figures.map(
    (f) =>
      `<tr><td>${f.caseNumber}</td><td>${escapeHtml(f.name)}</td><td>${formatNumber(f.value)} ${escapeHtml(f.unit)}</td><td>${escapeHtml(f.baselineName)}</td>` +
      `<td>${formatNumber(f.baseline)} ${escapeHtml(f.unit)}</td><td class="${tone(f)}">${Number.isFinite(f.ratio) ? `${f.ratio.toFixed(2)}×` : String(f.ratio)}</td>` +
      `<td>${f.target === undefined ? '-' : `${escapeHtml(f.target.op)} ${f.target.ratio}×`}</td><td class="${tone(f)}">${f.pass === undefined ? '' : f.pass ? '✓' : '✗'}</td></tr>`,
  );
  return `<div class="scroll"><table class="figures"><thead><tr><th>#</th><th>figure</th><th>value</th><th>baseline</th><th>baseline value</th><th>ratio</th><th>target</th><th></th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

/** One horizontal bar per figure: its ratio to its baseline, a line at 1× and a tick at its target. */
export function ratioChart(figures: readonly JudgedFigure[]): string {
  const width = 720;
  const rowHeight = 26;
  const labelWidth = 280;
  const pad = 24;
  const height = pad * 2 + rowHeight * figures.length;
  const maxRatio = Math.max(1.5, ...figures.flatMap((f) => [Number.isFinite(f.ratio) ? f.ratio * 1.1 : 0, (f.target?.ratio ?? 0) * 1.1]));
  const x = (ratio: number): number => labelWidth + (Math.max(0, ratio) / maxRatio) * (width - labelWidth - pad * 2);
  const rows = figures.map((f, i) => {
    const y = pad + i * rowHeight;
    const fill = f.pass === undefined ? '#0969da' : f.pass ? '#1a7f37' : '#cf222e';
    const ratio = Number.isFinite(f.ratio) ? f.ratio : 0;
    const target = f.target === undefined ? '' : `<line x1="${x(f.target.ratio).toFixed(1)}" x2="${x(f.target.ratio).toFixed(1)}" y1="${y}" y2="${y + rowHeight - 8}" stroke="#1f2328" stroke-width="2"><title>target ${escapeHtml(f.target.op)} ${f.target.ratio}×</title></line>`;
    return `<text x="${labelWidth - 8}" y="${y + 13}" text-anchor="end">${escapeHtml(f.name)}</text>` +
      `<rect x="${labelWidth}" y="${y}" width="${(x(ratio) - labelWidth).toFixed(1)}" height="${rowHeight - 8}" fill="${fill}" rx="2"><title>${escapeHtml(`${formatNumber(f.value)} ${f.unit} against ${formatNumber(f.baseline)} ${f.unit} (${f.baselineName})`)}</title></rect>` +
      `${target}<text x="${(x(ratio) + 4).toFixed(1)}" y="${y + 13}">${ratio.toFixed(2)}×</text>`;
  });
  return `<svg class="chart" viewBox="0 0 ${width} ${height}" role="img" aria-label="ratio of each scaling figure to its baseline">
<line x1="${x(1).toFixed(1)}" x2="${x(1).toFixed(1)}" y1="${pad / 2}" y2="${height - pad / 2}" stroke="#8c959f" stroke-dasharray="4 3"/>
<text x="${x(1).toFixed(1)}" y="${height - 4}" text-anchor="middle">1×</text>${rows.join('')}</svg>`;
}

export function renderBenchHtml(report: BenchReport): string {
  const judged = report.figures.filter((f) => f.pass !== undefined);
  const holding = judged.filter((f) => f.pass === true).length;
  const scaling = report.figures.filter((f) => f.caseNumber === SCALING_CASE);
  const title = `todevice bench — ${report.startedAt}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title>
<style>${css}</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p class="meta"><span class="verdict ${holding === judged.length ? 'good' : 'bad'}">${holding} of ${judged.length} targets hold</span>` +
    `${report.machine.cpus} CPUs · Node ${escapeHtml(report.machine.node)} · ${escapeHtml(report.machine.platform)} · ${report.elapsedS.toFixed(0)} s` +
    `${report.quick ? ' · --quick: sizes too small to judge' : ''}</p>
${report.warnings.map((warning) => `<p class="meta">warning: ${escapeHtml(warning)}</p>`).join('')}
${scaling.length === 0 ? '' : `<h2>Scaling: each figure against its smallest size</h2><figure>${ratioChart(scaling)}<figcaption class="key">bar: ratio to the baseline; black tick: the target; dashed: 1×</figcaption></figure>`}
<h2>Every figure</h2>${figuresTable(report.figures)}
</body></html>
`;
}
