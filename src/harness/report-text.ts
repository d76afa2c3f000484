/**
 * The plain-text faces of a race report: the side-by-side table and the closing lines of a run.
 *
 * Runtime: node (pure string building). The table has one column per strategy so that `--strategy all` reads
 * as a comparison: the same seed, the same schedule, four outcomes.
 */
import { LATE_DECRYPTION_GRACE_MS } from '../shared/room-key-protocol';
import type { OlmFigures, RaceProgress, RaceReport, StrategyReport } from './report-types';

/** What a figure says about the run, in the colours every view of it uses: green good, red bad, amber a warning. */
export type Tone = 'good' | 'bad' | 'warn' | 'neutral';

export interface ReportRow {
  label: string;
  value: (run: StrategyReport) => string;
  /** How to colour the value; neutral when absent. */
  tone?: (run: StrategyReport) => Tone;
}

const ms = (value: number | null): string => (value === null ? '-' : `${value} ms`);
/** Zero is as it should be, anything else is harm. */
const harm = (n: number): Tone => (n > 0 ? 'bad' : 'good');

/** The figures of the side-by-side table, in order; the text and the HTML report both use them. */
export const reportRows: readonly ReportRow[] = [
  { label: 'sent', value: (r) => String(r.totals.sent) },
  { label: 'delivered', value: (r) => String(r.totals.delivered), tone: (r) => (r.totals.delivered === r.totals.sent ? 'good' : 'bad') },
  { label: 'lost', value: (r) => String(r.totals.lost), tone: (r) => harm(r.totals.lost) },
  { label: 'duplicated', value: (r) => String(r.totals.duplicated), tone: (r) => harm(r.totals.duplicated) },
  { label: 'reordered', value: (r) => String(r.totals.reordered), tone: (r) => harm(r.totals.reordered) },
  { label: 'kills (main+notifier)', value: (r) => `${r.kills} (${killsOf(r, 'main')}+${killsOf(r, 'notifier')})` },
  { label: 'faults injected', value: (r) => String(Object.values(r.faults).reduce((a, b) => a + b, 0)) },
  { label: 'wasted requests', value: (r) => `${r.wastedRequests.total} (${r.wastedRequests.stale} stale, ${r.wastedRequests.fenced} fenced)` },
  { label: 'latency p50', value: (r) => ms(r.latency.p50Ms) },
  { label: 'latency p99', value: (r) => ms(r.latency.p99Ms) },
  { label: 'of it, to the store p50 / p99', value: (r) => (r.storeLatency === undefined ? '-' : `${ms(r.storeLatency.p50Ms)} / ${ms(r.storeLatency.p99Ms)}`) },
  { label: 'of it, forced by the faults p50 / p99', value: (r) => (r.scheduleFloor === undefined ? '-' : `${ms(r.scheduleFloor.forced.p50Ms)} / ${ms(r.scheduleFloor.forced.p99Ms)}`) },
  { label: 'beyond what they forced p50 / p99', value: (r) => (r.scheduleFloor === undefined ? '-' : `${ms(r.scheduleFloor.beyond.p50Ms)} / ${ms(r.scheduleFloor.beyond.p99Ms)}`) },
  { label: 'notifiers (killed)', value: (r) => `${r.notifiers.launched} (${r.notifiers.killed})` },
  { label: 'encrypted room messages', value: (r) => String(r.encryption.roomMessages) },
  {
    label: 'UTD notifications',
    value: (r) => `${r.encryption.notifications.unableToDecrypt} of ${r.encryption.notifications.shown}`,
    tone: (r) => harm(r.encryption.notifications.unableToDecrypt),
  },
  { label: 'UTD in timeline', value: (r) => String(utdInTimeline(r)), tone: (r) => harm(utdInTimeline(r)) },
  {
    label: `decrypted late (> ${LATE_DECRYPTION_GRACE_MS / 1000} s)`,
    value: (r) => String(r.encryption.timeline.late),
    tone: (r) => (r.encryption.timeline.late > 0 ? 'warn' : 'neutral'),
  },
  { label: 'Olm decrypted (after keys/query)', value: (r) => `${r.olm.decrypted} (${r.olm.decryptedAfterQuery})` },
  { label: 'Olm failures (never decrypted)', value: (r) => countWithReasons(r.olm.failed, r.olm.failures), tone: (r) => harm(r.olm.failed) },
  {
    label: 'Olm redeliveries undecryptable',
    value: (r) => countWithReasons(r.olm.undecryptableRedeliveries, r.olm.redeliveryFailures),
    tone: (r) => harm(r.olm.undecryptableRedeliveries),
  },
  { label: 'wedged Olm sessions', value: (r) => String(r.olm.wedgedSessions), tone: (r) => harm(r.olm.wedgedSessions) },
  { label: 'one-time keys uploaded twice', value: (r) => String(r.olm.oneTimeKeysUploadedTwice), tone: (r) => harm(r.olm.oneTimeKeysUploadedTwice) },
  { label: 'one-time keys lost', value: (r) => String(r.olm.oneTimeKeysLost), tone: (r) => harm(r.olm.oneTimeKeysLost) },
  { label: 'Olm recoveries (m.dummy)', value: (r) => String(r.olm.recoveries), tone: (r) => harm(r.olm.recoveries) },
  { label: 'UTD from Olm failures', value: (r) => String(r.olm.unableToDecrypt), tone: (r) => harm(r.olm.unableToDecrypt) },
  {
    label: 'liveness',
    value: (r) => (r.liveness.converged ? `converged ${ms(r.liveness.convergedAfterMs)}` : 'NOT converged'),
    tone: (r) => (r.liveness.converged ? 'good' : 'bad'),
  },
  {
    label: 'verdict',
    value: (r) => (r.mustBeSafe ? (r.ok ? 'ok' : 'VIOLATION') : 'expected to fail'),
    // legacy and explicit-naive are the demonstration: their losses are reported, not judged.
    tone: (r) => (r.mustBeSafe ? (r.ok ? 'good' : 'bad') : 'neutral'),
  },
];

/** The count, then the reasons that occurred, most frequent first: `3 (bad-mac 2, no-session 1)`. */
function countWithReasons(count: number, byReason: Record<string, number>): string {
  const reasons = Object.entries(byReason)
    .filter(([, n]) => n > 0)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .map(([reason, n]) => `${reason} ${n}`);
  return reasons.length === 0 ? String(count) : `${count} (${reasons.join(', ')})`;
}

function utdInTimeline(run: StrategyReport): number {
  return run.encryption.timeline.unableToDecrypt + run.encryption.timeline.notPaged;
}

function killsOf(run: StrategyReport, target: 'main' | 'notifier'): number {
  return Object.entries(run.faults)
    .filter(([kind]) => kind.startsWith(`kill-${target}-`))
    .reduce((sum, [, n]) => sum + n, 0);
}

export function sideBySideTable(report: RaceReport): string {
  const header = ['', ...report.strategies.map((run) => run.strategy)];
  const body = reportRows.map((row) => [row.label, ...report.strategies.map(row.value)]);
  const widths = header.map((_, column) => Math.max(...[header, ...body].map((line) => (line[column] ?? '').length)));
  const format = (line: string[]): string => line.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd();
  return [format(header), format(widths.map((w) => '-'.repeat(w))), ...body.map(format)].join('\n');
}

/** The Olm figures of a run or a campaign in one line, for the campaign's per-seed and closing lines. */
export function olmCells(olm: OlmFigures): string {
  return (
    `olm_failed=${olm.failed} olm_redelivered_undecryptable=${olm.undecryptableRedeliveries} wedged=${olm.wedgedSessions} ` +
    `otk_uploaded_twice=${olm.oneTimeKeysUploadedTwice} otk_lost=${olm.oneTimeKeysLost} recoveries=${olm.recoveries} olm_utd=${olm.unableToDecrypt}`
  );
}

/** Every fault kind that landed in any strategy, sorted. */
export function faultKinds(report: RaceReport): string[] {
  return [...new Set(report.strategies.flatMap((run) => Object.keys(run.faults)))].sort((a, b) => a.localeCompare(b));
}

const faultWords: Record<string, string> = {
  'drop-response': 'response dropped after the server processed the request',
  'error-429': 'request refused with 429 (rate limited)',
  'error-500': 'request failed with 500',
  'expire-pos': 'connection reset (M_UNKNOWN_POS)',
  'kill-main-point': 'main killed at a named kill point',
  'kill-main-random': 'main killed at a random moment',
  'kill-notifier-point': 'notifier killed at a named kill point',
  'kill-notifier-random': 'notifier killed at a random moment',
  'sigstop-main': 'main stopped (SIGSTOP) for a while',
  'write-lock': 'SQLite write lock held by another process',
};

/** A fault kind in words, for readers who do not know the harness's names. */
export function describeFaultKind(kind: string): string {
  return faultWords[kind] ?? kind;
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

/**
 * One line on what a running race is doing, for stderr and the dashboard. Each phase is measured against its own
 * length: the safety phase against its planned duration, the liveness phase (which follows it, faults off)
 * against its bound, so a run that is simply in its second phase never reads like an overrun of the first.
 */
export function describeProgress(p: RaceProgress): string {
  const seconds = (ms: number): string => (ms / 1000).toFixed(1);
  const whole = (ms: number): string => String(Math.round(ms / 1000));
  const faults = `${p.kills} kills, ${p.faults} faults`;
  switch (p.phase) {
    case 'starting':
      return `${p.strategy}: starting`;
    case 'safety': {
      const at = p.elapsedMs <= p.safetyPhaseMs ? `${seconds(p.elapsedMs)} of ${whole(p.safetyPhaseMs)} s` : `ending, ${seconds(p.elapsedMs)} s`;
      return `${p.strategy}: safety phase (faults on) ${at} · sent ${p.sent} of ${p.plannedSends} · handled ${p.handled} · ${faults}`;
    }
    case 'liveness':
      return `${p.strategy}: liveness phase (faults off), converging for ${seconds(p.phaseElapsedMs)} s (bound ${whole(p.livenessTimeoutMs)} s) · sent ${p.sent} · handled ${p.handled}`;
    case 'done':
      return `${p.strategy}: done after ${seconds(p.elapsedMs)} s · sent ${p.sent} · handled ${p.handled} · ${faults}`;
  }
}
