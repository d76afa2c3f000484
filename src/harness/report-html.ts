/**
 * The race report as one self-contained HTML page: the side-by-side table, outcome bars, a delivery timeline
 * per strategy with its faults marked, and latency bars. Inline SVG and inline CSS only: no script, no network,
 * so the file opens anywhere and can be attached to a bug report as is.
 *
 * Runtime: node (pure string building). Every value that comes from the run is escaped.
 */
import type { RaceReport, StrategyReport } from './report-types';
import { faultLines, sideBySideTable, verdictLines } from './report-text';

const colors: Record<string, string> = { legacy: '#c0392b', 'explicit-naive': '#d68910', 'explicit-cas': '#2874a6', 'explicit-lease': '#1e8449' };

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function renderReportHtml(report: RaceReport): string {
  const title = `todevice race — seed ${report.seed}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
pre{background:#f6f6f6;padding:12px;overflow:auto}
h2{margin-top:28px} .ok{color:#1e8449} .bad{color:#c0392b} svg{background:#fff;border:1px solid #ddd}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:16px}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p class="${report.ok ? 'ok' : 'bad'}"><b>${report.ok ? 'OK' : 'FAILED'}</b> — schedule ${escapeHtml(report.scheduleHash)},
started ${escapeHtml(report.startedAt)}, ${(report.elapsedMs / 1000).toFixed(1)} s, processes: ${report.processMode}</p>
<p>Reproduce: <code>${escapeHtml(report.reproduce)}</code></p>
<h2>Side by side</h2><pre>${escapeHtml(sideBySideTable(report))}</pre>
<pre>${escapeHtml([...faultLines(report), ...verdictLines(report)].join('\n'))}</pre>
<h2>Outcome per strategy</h2>${outcomeBars(report.strategies)}
<h2>Latency (send → handled by main)</h2>${latencyBars(report.strategies)}
<h2>Delivery over time, faults marked</h2><div class="grid">${report.strategies.map(timelineChart).join('\n')}</div>
<h2>Options</h2><pre>${escapeHtml(JSON.stringify(report.options, null, 2))}</pre>
</body></html>
`;
}

const outcomes = {
  lost: (run: StrategyReport) => run.totals.lost,
  duplicated: (run: StrategyReport) => run.totals.duplicated,
  reordered: (run: StrategyReport) => run.totals.reordered,
  'UTD notifications': (run: StrategyReport) => run.encryption.notifications.unableToDecrypt,
  'UTD in timeline': (run: StrategyReport) => run.encryption.timeline.unableToDecrypt + run.encryption.timeline.notPaged,
};

/** Grouped bars: lost, duplicated, reordered and unable-to-decrypt per strategy, on a shared scale. */
function outcomeBars(runs: readonly StrategyReport[]): string {
  const metrics = Object.keys(outcomes) as Array<keyof typeof outcomes>;
  const max = Math.max(1, ...runs.flatMap((run) => metrics.map((m) => outcomes[m](run))));
  const width = 720;
  const rowHeight = 22;
  const height = runs.length * metrics.length * rowHeight + 20;
  const bars = runs.flatMap((run, i) =>
    metrics.map((metric, j) => {
      const y = (i * metrics.length + j) * rowHeight + 10;
      const value = outcomes[metric](run);
      const barWidth = Math.round((value / max) * (width - 330));
      return `<text x="8" y="${y + 15}">${escapeHtml(run.strategy)} ${metric}</text>` +
        `<rect x="220" y="${y + 3}" width="${barWidth}" height="15" fill="${colors[run.strategy] ?? '#555'}"/>` +
        `<text x="${226 + barWidth}" y="${y + 15}">${value}</text>`;
    }),
  );
  return `<svg width="${width}" height="${height}" role="img" aria-label="lost, duplicated, reordered and unable to decrypt per strategy">${bars.join('')}</svg>`;
}

function latencyBars(runs: readonly StrategyReport[]): string {
  const max = Math.max(1, ...runs.map((run) => run.latency.p99Ms ?? 0));
  const width = 720;
  const bars = runs.map((run, i) => {
    const y = i * 44 + 10;
    const bar = (value: number | null, dy: number, opacity: number): string => {
      const w = Math.round(((value ?? 0) / max) * (width - 330));
      return `<rect x="220" y="${y + dy}" width="${w}" height="16" fill="${colors[run.strategy] ?? '#555'}" fill-opacity="${opacity}"/>` +
        `<text x="${226 + w}" y="${y + dy + 13}">${value === null ? '-' : `${value} ms`}</text>`;
    };
    return `<text x="8" y="${y + 13}">${escapeHtml(run.strategy)} p50</text><text x="8" y="${y + 31}">p99</text>${bar(run.latency.p50Ms, 0, 0.55)}${bar(run.latency.p99Ms, 18, 1)}`;
  });
  return `<svg width="${width}" height="${runs.length * 44 + 20}" role="img" aria-label="latency p50 and p99 per strategy">${bars.join('')}</svg>`;
}

/** Handled messages over time (line) with one tick per injected fault (kills red, others grey). */
function timelineChart(run: StrategyReport): string {
  const width = 520;
  const height = 220;
  const pad = 36;
  const lastPoint = run.timeline.at(-1);
  const maxMs = Math.max(1, run.safetyPhaseMs, lastPoint?.atMs ?? 0, ...run.faultTimeline.map((f) => f.atMs));
  const maxHandled = Math.max(1, run.totals.sent, lastPoint?.handled ?? 0);
  const x = (atMs: number): number => pad + (Math.max(0, atMs) / maxMs) * (width - 2 * pad);
  const y = (handled: number): number => height - pad - (handled / maxHandled) * (height - 2 * pad);
  const line = run.timeline.map((p) => `${x(p.atMs).toFixed(1)},${y(p.handled).toFixed(1)}`).join(' ');
  const ticks = run.faultTimeline
    .map((f) => `<line x1="${x(f.atMs).toFixed(1)}" x2="${x(f.atMs).toFixed(1)}" y1="${height - pad}" y2="${height - pad + 8}" stroke="${f.kind.startsWith('kill-') ? '#c0392b' : '#888'}"><title>${escapeHtml(`${f.kind} ${f.detail ?? ''} @ ${f.atMs} ms`)}</title></line>`)
    .join('');
  const safetyEnd = x(run.safetyPhaseMs);
  return `<figure><svg width="${width}" height="${height}" role="img" aria-label="${escapeHtml(run.strategy)} delivery timeline">
<rect x="${pad}" y="${pad}" width="${(safetyEnd - pad).toFixed(1)}" height="${height - 2 * pad}" fill="#fdf2e9"/>
<line x1="${pad}" y1="${height - pad}" x2="${width - pad}" y2="${height - pad}" stroke="#333"/>
<line x1="${pad}" y1="${pad}" x2="${pad}" y2="${height - pad}" stroke="#333"/>
<polyline fill="none" stroke="${colors[run.strategy] ?? '#555'}" stroke-width="2" points="${line}"/>${ticks}
<text x="${pad}" y="${pad - 8}">${escapeHtml(run.strategy)}: ${run.totals.delivered}/${run.totals.sent} delivered, ${run.kills} kills</text>
<text x="${width - pad}" y="${height - 8}" text-anchor="end">${(maxMs / 1000).toFixed(1)} s</text>
<text x="${pad + 4}" y="${height - pad - 6}" font-size="11">safety phase shaded</text>
</svg></figure>`;
}
