/**
 * Renders judged figures as the short table `todevice bench` prints: figure, baseline, ratio, target, ✓/✗.
 *
 * Runtime: node (pure string formatting).
 */
import type { JudgedFigure } from './bench-types';

function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return `${value} ${unit}`;
  const digits = Number.isInteger(value) || Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })} ${unit}`;
}

export function renderTable(figures: readonly JudgedFigure[]): string {
  const header = ['#', 'figure', 'value', 'baseline', 'baseline value', 'ratio', 'target', ''];
  const rows = figures.map((f) => [
    String(f.caseNumber),
    f.name,
    formatValue(f.value, f.unit),
    f.baselineName,
    formatValue(f.baseline, f.unit),
    Number.isFinite(f.ratio) ? `${f.ratio.toFixed(2)}×` : String(f.ratio),
    f.target === undefined ? '-' : `${f.target.op} ${f.target.ratio}×`,
    f.pass === undefined ? '' : f.pass ? '✓' : '✗',
  ]);
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
