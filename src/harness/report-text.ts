/**
 * The plain-text faces of a race report: the side-by-side table and the closing lines of a run.
 *
 * Runtime: node (pure string building). The table has one column per strategy so that `--strategy all` reads
 * as a comparison: the same seed, the same schedule, four outcomes.
 */
import type { RaceReport, StrategyReport } from './report-types';

interface Row {
  label: string;
  value: (run: StrategyReport) => string;
}

const ms = (value: number | null): string => (value === null ? '-' : `${value} ms`);

const rows: Row[] = [
  { label: 'sent', value: (r) => String(r.totals.sent) },
  { label: 'delivered', value: (r) => String(r.totals.delivered) },
  { label: 'lost', value: (r) => String(r.totals.lost) },
  { label: 'duplicated', value: (r) => String(r.totals.duplicated) },
  { label: 'reordered', value: (r) => String(r.totals.reordered) },
  { label: 'kills (main+notifier)', value: (r) => `${r.kills} (${killsOf(r, 'main')}+${killsOf(r, 'notifier')})` },
  { label: 'faults injected', value: (r) => String(Object.values(r.faults).reduce((a, b) => a + b, 0)) },
  { label: 'wasted requests', value: (r) => `${r.wastedRequests.total} (${r.wastedRequests.stale} stale, ${r.wastedRequests.fenced} fenced)` },
  { label: 'latency p50', value: (r) => ms(r.latency.p50Ms) },
  { label: 'latency p99', value: (r) => ms(r.latency.p99Ms) },
  { label: 'notifiers (killed)', value: (r) => `${r.notifiers.launched} (${r.notifiers.killed})` },
  { label: 'encrypted room messages', value: (r) => String(r.encryption.roomMessages) },
  { label: 'UTD notifications', value: (r) => `${r.encryption.notifications.unableToDecrypt} of ${r.encryption.notifications.shown}` },
  { label: 'UTD in timeline', value: (r) => String(r.encryption.timeline.unableToDecrypt + r.encryption.timeline.notPaged) },
  { label: 'decrypted late', value: (r) => String(r.encryption.timeline.late) },
  { label: 'liveness', value: (r) => (r.liveness.converged ? `converged ${ms(r.liveness.convergedAfterMs)}` : 'NOT converged') },
  { label: 'verdict', value: (r) => (r.mustBeSafe ? (r.ok ? 'ok' : 'VIOLATION') : 'expected to fail') },
];

function killsOf(run: StrategyReport, target: 'main' | 'notifier'): number {
  return Object.entries(run.faults)
    .filter(([kind]) => kind.startsWith(`kill-${target}-`))
    .reduce((sum, [, n]) => sum + n, 0);
}

export function sideBySideTable(report: RaceReport): string {
  const header = ['', ...report.strategies.map((run) => run.strategy)];
  const body = rows.map((row) => [row.label, ...report.strategies.map(row.value)]);
  const widths = header.map((_, column) => Math.max(...[header, ...body].map((line) => (line[column] ?? '').length)));
  const format = (line: string[]): string => line.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd();
  return [format(header), format(widths.map((w) => '-'.repeat(w))), ...body.map(format)].join('\n');
}

/** Faults by kind, one line per strategy. */
export function faultLines(report: RaceReport): string[] {
  return report.strategies.map((run) => {
    const kinds = Object.entries(run.faults)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([kind, n]) => `${kind}=${n}`);
    return `faults ${run.strategy}: ${kinds.join(' ') || 'none'}`;
  });
}

/** The closing lines: violations of safe strategies, then the verdict, then (on failure) the reproducing command. */
export function verdictLines(report: RaceReport): string[] {
  const lines: string[] = [];
  for (const run of report.strategies) {
    for (const violation of run.violations) lines.push(`${run.mustBeSafe ? 'VIOLATION' : 'expected'} ${run.strategy}: ${violation}`);
  }
  if (report.ok) lines.push(`OK: explicit-cas and explicit-lease kept every invariant (seed ${report.seed}, schedule ${report.scheduleHash}).`);
  else lines.push('FAILED: a safe strategy violated an invariant. Reproduce with:', report.reproduce);
  return lines;
}
