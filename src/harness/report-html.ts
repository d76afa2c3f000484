/**
 * The race report as one self-contained HTML page: the verdict, the strategies side by side in a table, the
 * faults that landed, the outcomes and latencies as bars, a delivery timeline per strategy with its faults
 * marked, and each strategy's notes in sentences (the raw log lines folded away). Inline SVG and inline CSS
 * only: no script, no network, so the file opens anywhere and can be attached to a bug report as is.
 *
 * Runtime: node (pure string building). Every value that comes from the run is escaped. Colour means the same
 * as on the dashboard: green = as it should be, red = harm (a loss, a duplicate, a message that could not be
 * decrypted, a violation), amber = a warning (late), blue and grey = plain quantities (latencies, counts, the
 * strategy's own line), which are neither good nor bad by themselves. The layout is fluid: tables and charts fit
 * the window, long text wraps, nothing is cut off at the right edge.
 */
import type { RaceReport, StrategyReport } from './report-types';
import { describeFaultKind, faultKinds, reportRows, verdictLines, type Tone } from './report-text';

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export const css = `
:root{--good:#1a7f37;--bad:#cf222e;--warn:#9a6700;--plain:#0969da;--muted:#57606a;--edge:#d0d7de;--soft:#f6f8fa}
*{box-sizing:border-box}
body{font:14px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;padding:24px;color:#1f2328;max-width:1280px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:16px;margin:32px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--edge)}
h3{font-size:14px;margin:16px 0 6px}
code,pre{font:12.5px/1.45 ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace}
code{overflow-wrap:anywhere} pre{background:var(--soft);border:1px solid var(--edge);border-radius:6px;padding:10px 12px;white-space:pre-wrap;overflow-wrap:anywhere;margin:6px 0}
.meta{color:var(--muted);margin:0 0 8px} .verdict{display:inline-block;font-weight:700;padding:1px 10px;border-radius:12px;color:#fff;margin-right:8px}
.verdict.good{background:var(--good)} .verdict.bad{background:var(--bad)}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:4px 0} th,td{padding:4px 10px;border-bottom:1px solid var(--edge);text-align:right;vertical-align:top}
th{font-weight:600;background:var(--soft)} th:first-child,td:first-child{text-align:left}
table.figures td:not(:first-child),table.faults td:not(:first-child){font-variant-numeric:tabular-nums;white-space:nowrap}
td.good{color:var(--good);font-weight:600} td.bad{color:var(--bad);font-weight:700} td.warn{color:var(--warn);font-weight:600}
.lines{list-style:none;margin:8px 0;padding:0} .lines li{padding:2px 0} .lines li.bad{color:var(--bad);font-weight:600} .lines li.good{color:var(--good)}
table.bars{width:100%;max-width:900px} table.bars td{border:none;padding:2px 8px} table.bars td.label{white-space:nowrap;width:1%}
table.bars td.bar{width:100%} table.bars td.value{white-space:nowrap;width:1%;font-variant-numeric:tabular-nums}
table.bars tr.group td{padding-top:10px;font-weight:600;color:var(--muted)}
.track{height:14px;background:var(--soft);border-radius:3px;overflow:hidden} .fill{height:100%;border-radius:3px}
.fill.bad{background:var(--bad)} .fill.good{background:var(--good)} .fill.plain{background:var(--plain)} .fill.plain.light{background:#54aeff}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(460px,100%),1fr));gap:16px}
figure{margin:0;border:1px solid var(--edge);border-radius:6px;padding:8px} figcaption{font-weight:600;margin-bottom:4px}
svg.chart{width:100%;height:auto;display:block} svg text{font:11px system-ui,sans-serif;fill:var(--muted)}
.key{color:var(--muted);font-size:12.5px} .key i{display:inline-block;width:12px;height:3px;vertical-align:middle;margin:0 4px 0 10px}
details{margin:6px 0} summary{cursor:pointer;color:var(--muted)}
.note-none{color:var(--muted);font-style:italic}
`;

export function renderReportHtml(report: RaceReport): string {
  const title = `todevice race — seed ${report.seed}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title>
<style>${css}</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p class="meta"><span class="verdict ${report.ok ? 'good' : 'bad'}">${report.ok ? 'OK' : 'FAILED'}</span>schedule ${escapeHtml(report.scheduleHash)} · started ${escapeHtml(report.startedAt)} · ${(report.elapsedMs / 1000).toFixed(1)} s · processes: ${escapeHtml(report.processMode)}</p>
<p>Reproduce: <code>${escapeHtml(report.reproduce)}</code></p>
${verdictList(report)}
<h2>Strategies side by side</h2>${figuresTable(report)}
<h2>Faults injected</h2>${faultsTable(report)}
<h2>Outcome per strategy</h2>${outcomeBars(report.strategies)}
<h2>Latency (send → handled by main)</h2>${latencyBars(report.strategies)}
<h2>Delivery over time, faults marked</h2>
<p class="key">safety phase shaded · <i style="background:var(--plain)"></i>messages handled · <i style="background:var(--bad)"></i>kill · <i style="background:#8c959f"></i>other fault</p>
<div class="grid">${report.strategies.map(timelineChart).join('\n')}</div>
<h2>Notes</h2>${report.strategies.map(notesSection).join('\n')}
<h2>Options</h2><details><summary>the options of this run (JSON)</summary><pre>${escapeHtml(JSON.stringify(report.options, null, 2))}</pre></details>
</body></html>
`;
}

function verdictList(report: RaceReport): string {
  const items = verdictLines(report).map((line) => {
    const tone = /^(VIOLATION|FAILED)/.test(line) ? 'bad' : /^OK/.test(line) ? 'good' : '';
    return `<li class="${tone}">${escapeHtml(line)}</li>`;
  });
  return `<ul class="lines">${items.join('')}</ul>`;
}

function figuresTable(report: RaceReport): string {
  const head = `<tr><th scope="col">figure</th>${report.strategies.map((run) => `<th scope="col">${escapeHtml(run.strategy)}</th>`).join('')}</tr>`;
  const rows = reportRows.map((row) => {
    const cells = report.strategies.map((run) => {
      const tone: Tone = row.tone?.(run) ?? 'neutral';
      return `<td class="${tone}">${escapeHtml(row.value(run))}</td>`;
    });
    return `<tr><th scope="row">${escapeHtml(row.label)}</th>${cells.join('')}</tr>`;
  });
  return `<div class="scroll"><table class="figures"><thead>${head}</thead><tbody>${rows.join('')}</tbody></table></div>`;
}

function faultsTable(report: RaceReport): string {
  const kinds = faultKinds(report);
  if (kinds.length === 0) return '<p class="note-none">No fault was injected.</p>';
  const head = `<tr><th scope="col">fault</th>${report.strategies.map((run) => `<th scope="col">${escapeHtml(run.strategy)}</th>`).join('')}</tr>`;
  const rows = kinds.map((kind) => {
    const cells = report.strategies.map((run) => `<td>${run.faults[kind] ?? 0}</td>`);
    return `<tr><th scope="row">${escapeHtml(describeFaultKind(kind))} <code>${escapeHtml(kind)}</code></th>${cells.join('')}</tr>`;
  });
  return `<div class="scroll"><table class="faults"><thead>${head}</thead><tbody>${rows.join('')}</tbody></table></div>`;
}

const outcomes: Array<{ label: string; value: (run: StrategyReport) => number }> = [
  { label: 'lost', value: (run) => run.totals.lost },
  { label: 'duplicated', value: (run) => run.totals.duplicated },
  { label: 'reordered', value: (run) => run.totals.reordered },
  { label: 'UTD notifications', value: (run) => run.encryption.notifications.unableToDecrypt },
  { label: 'UTD in timeline', value: (run) => run.encryption.timeline.unableToDecrypt + run.encryption.timeline.notPaged },
  { label: 'Olm failures', value: (run) => run.olm.failed + run.olm.undecryptableRedeliveries },
  { label: 'wedged Olm sessions', value: (run) => run.olm.wedgedSessions },
  { label: 'one-time keys uploaded twice', value: (run) => run.olm.oneTimeKeysUploadedTwice },
];

function bar(value: number, max: number, fillClass: string): string {
  const percent = max <= 0 ? 0 : Math.max(value > 0 ? 0.6 : 0, (value / max) * 100);
  return `<div class="track"><div class="fill ${fillClass}" style="width:${percent.toFixed(1)}%"></div></div>`;
}

/**
 * Lost, duplicated, reordered, unable-to-decrypt and the Olm harms per strategy, on one scale; any of them above
 * zero is harm.
 */
function outcomeBars(runs: readonly StrategyReport[]): string {
  const max = Math.max(1, ...runs.flatMap((run) => outcomes.map((o) => o.value(run))));
  const rows = runs.flatMap((run) => [
    `<tr class="group"><td colspan="3">${escapeHtml(run.strategy)}${run.mustBeSafe ? '' : ' (expected to lose: shows the bug)'}</td></tr>`,
    ...outcomes.map((o) => {
      const value = o.value(run);
      return `<tr><td class="label">${escapeHtml(o.label)}</td><td class="bar">${bar(value, max, 'bad')}</td><td class="value ${value > 0 ? 'bad' : 'good'}">${value}</td></tr>`;
    }),
  ]);
  return `<table class="bars" aria-label="lost, duplicated, reordered, unable to decrypt and the Olm harms per strategy"><tbody>${rows.join('')}</tbody></table>`;
}

/** p50 and p99 per strategy on one scale: plain quantities, in the plain colour whatever their size. */
function latencyBars(runs: readonly StrategyReport[]): string {
  const max = Math.max(1, ...runs.map((run) => run.latency.p99Ms ?? 0));
  const text = (value: number | null): string => (value === null ? '-' : `${value} ms`);
  const rows = runs.flatMap((run) => [
    `<tr class="group"><td colspan="3">${escapeHtml(run.strategy)}</td></tr>`,
    `<tr><td class="label">p50</td><td class="bar">${bar(run.latency.p50Ms ?? 0, max, 'plain light')}</td><td class="value">${text(run.latency.p50Ms)}</td></tr>`,
    `<tr><td class="label">p99</td><td class="bar">${bar(run.latency.p99Ms ?? 0, max, 'plain')}</td><td class="value">${text(run.latency.p99Ms)}</td></tr>`,
    ...(run.storeLatency === undefined
      ? []
      : [`<tr><td class="label" title="send → committed to the inbox by any process">p50 to the store</td><td class="bar">${bar(run.storeLatency.p50Ms ?? 0, max, 'plain light')}</td><td class="value">${text(run.storeLatency.p50Ms)}</td></tr>`]),
    ...(run.scheduleFloor === undefined
      ? []
      : [
          `<tr><td class="label" title="the p99 of the time a main process could have handled each message and had not yet">p99 beyond the faults</td><td class="bar">${bar(run.scheduleFloor.beyond.p99Ms ?? 0, max, 'plain')}</td><td class="value">${text(run.scheduleFloor.beyond.p99Ms)}</td></tr>`,
        ]),
  ]);
  return `<table class="bars" aria-label="latency p50 and p99 per strategy"><tbody>${rows.join('')}</tbody></table>`;
}

/** Handled messages over time (line) with one tick per injected fault (kills red, others grey). */
function timelineChart(run: StrategyReport): string {
  const width = 520;
  const height = 220;
  const pad = 40;
  const lastPoint = run.timeline.at(-1);
  const maxMs = Math.max(1, run.safetyPhaseMs, lastPoint?.atMs ?? 0, ...run.faultTimeline.map((f) => f.atMs));
  const maxHandled = Math.max(1, run.totals.sent, lastPoint?.handled ?? 0);
  const x = (atMs: number): number => pad + (Math.max(0, atMs) / maxMs) * (width - 2 * pad);
  const y = (handled: number): number => height - pad - (handled / maxHandled) * (height - 2 * pad);
  const line = run.timeline.map((p) => `${x(p.atMs).toFixed(1)},${y(p.handled).toFixed(1)}`).join(' ');
  const ticks = run.faultTimeline
    .map((f) => `<line x1="${x(f.atMs).toFixed(1)}" x2="${x(f.atMs).toFixed(1)}" y1="${height - pad}" y2="${height - pad + 8}" stroke="${f.kind.startsWith('kill-') ? '#cf222e' : '#8c959f'}" stroke-width="1.5"><title>${escapeHtml(`${describeFaultKind(f.kind)} ${f.detail ?? ''} @ ${f.atMs} ms`)}</title></line>`)
    .join('');
  const safetyEnd = x(run.safetyPhaseMs);
  const delivered = `${run.totals.delivered}/${run.totals.sent} delivered, ${run.kills} kills`;
  return `<figure><figcaption>${escapeHtml(run.strategy)} <span class="key">${escapeHtml(delivered)}</span></figcaption>
<svg class="chart" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(run.strategy)} delivery timeline">
<rect x="${pad}" y="${pad / 2}" width="${(safetyEnd - pad).toFixed(1)}" height="${height - pad * 1.5}" fill="#fff8c5"/>
<line x1="${pad}" y1="${height - pad}" x2="${width - pad}" y2="${height - pad}" stroke="#57606a"/>
<line x1="${pad}" y1="${pad / 2}" x2="${pad}" y2="${height - pad}" stroke="#57606a"/>
<polyline fill="none" stroke="#0969da" stroke-width="2" points="${line}"/>${ticks}
<text x="${pad - 6}" y="${pad / 2 + 4}" text-anchor="end">${maxHandled}</text>
<text x="${pad - 6}" y="${height - pad + 4}" text-anchor="end">0</text>
<text x="${pad}" y="${height - pad + 22}">0 s</text>
<text x="${width - pad}" y="${height - pad + 22}" text-anchor="end">${(maxMs / 1000).toFixed(1)} s</text>
</svg></figure>`;
}

function notesSection(run: StrategyReport): string {
  const notes = run.notes.length === 0 ? '<p class="note-none">Nothing unusual.</p>' : `<ul>${run.notes.map((note) => `<li>${escapeHtml(note)}</li>`).join('')}</ul>`;
  const raw =
    run.diagnostics.length === 0
      ? ''
      : `<details><summary>raw lines (${run.diagnostics.length})</summary><pre>${escapeHtml(run.diagnostics.join('\n'))}</pre></details>`;
  return `<h3>${escapeHtml(run.strategy)}</h3>${notes}${raw}`;
}
