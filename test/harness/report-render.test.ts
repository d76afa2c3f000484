// Report rendering: the side-by-side table, the closing lines, and a self-contained HTML page.
import { describe, expect, it } from 'vitest';
import { renderReportHtml } from '../../src/harness/report-html';
import { sideBySideTable, verdictLines } from '../../src/harness/report-text';
import { DEFAULT_RACE_OPTIONS } from '../../src/harness/race-options';
import { RACE_REPORT_SCHEMA, type RaceReport, type StrategyReport } from '../../src/harness/report-types';
import type { Strategy } from '../../src/shared/strategies';

function run(strategy: Strategy, lost: number, ok = true): StrategyReport {
  return {
    strategy,
    mustBeSafe: strategy.startsWith('explicit-') && strategy !== 'explicit-naive',
    ok,
    totals: { sent: 100, delivered: 100 - lost, lost, duplicated: 0, reordered: 0 },
    perSender: [],
    latency: { count: 100 - lost, p50Ms: 12, p99Ms: 340, maxMs: 400 },
    faults: { 'kill-main-random': 2, 'kill-notifier-point': 3, 'drop-response': 1 },
    plannedFaults: {},
    kills: 5,
    wastedRequests: { stale: 4, fenced: 1, total: 5 },
    server: { accepted: 100, deliveredIncludingRedeliveries: 120, deleted: 100, queuedAtEnd: 0 },
    notifiers: { launched: 10, finished: 6, killed: 3, failed: 0, dataMissing: lost },
    encryption: {
      roomMessages: 10, notifications: { shown: 7, decrypted: 7 - lost, unableToDecrypt: lost },
      timeline: { paged: 10, decrypted: 10 - lost, late: 1, unableToDecrypt: lost, notPaged: 0 }, undecryptableSample: [],
    },
    mainRestarts: 2,
    liveness: { converged: true, convergedAfterMs: 300 },
    violations: ok ? [] : ['1 message(s) lost'],
    lostSample: [],
    notes: [],
    safetyPhaseMs: 10_000,
    elapsedMs: 12_000,
    timeline: [{ atMs: 0, handled: 0 }, { atMs: 5000, handled: 60 }],
    faultTimeline: [{ atMs: 2000, kind: 'kill-main-random', detail: '<script>' }],
  };
}

function report(strategies: StrategyReport[]): RaceReport {
  const ok = strategies.every((s) => s.ok);
  return { schema: RACE_REPORT_SCHEMA, seed: 1, options: DEFAULT_RACE_OPTIONS, scheduleHash: 'abc', processMode: 'bundle', startedAt: '2026-01-01T00:00:00.000Z', elapsedMs: 1, strategies, ok, reproduce: 'npx todevice race --seed 1' };
}

describe('report rendering', () => {
  it('table: one column per strategy with every figure of the issue', () => {
    const table = sideBySideTable(report([run('legacy', 7), run('explicit-lease', 0)]));
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^\s+legacy\s+explicit-lease$/);
    for (const label of ['sent', 'delivered', 'lost', 'duplicated', 'reordered', 'faults injected', 'wasted requests', 'latency p50', 'latency p99']) {
      expect(lines.some((line) => line.startsWith(label))).toBe(true);
    }
    expect(lines.find((line) => line.startsWith('lost'))).toMatch(/^lost\s+7\s+0$/);
    expect(lines.find((line) => line.startsWith('kills'))).toContain('5 (2+3)');
    expect(lines.find((line) => line.startsWith('UTD notifications'))).toMatch(/^UTD notifications\s+7 of 7\s+0 of 7$/);
    expect(lines.find((line) => line.startsWith('UTD in timeline'))).toMatch(/^UTD in timeline\s+7\s+0$/);
  });

  it('verdict: a failed safe strategy ends with the reproducing command', () => {
    const lines = verdictLines(report([run('explicit-cas', 1, false)]));
    expect(lines.at(-1)).toBe('npx todevice race --seed 1');
    expect(lines).toContain('VIOLATION explicit-cas: 1 message(s) lost');
  });

  it('html: self-contained (no script, no external resource) with charts, and run values escaped', () => {
    const html = renderReportHtml(report([run('legacy', 7), run('explicit-lease', 0)]));
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|src=|href=|@import|https?:\/\//);
    expect(html).toContain('&lt;script&gt;');
    expect(html).toContain('legacy lost');
    expect(html).toContain('legacy UTD in timeline');
  });
});
