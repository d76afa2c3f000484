// Report rendering: the side-by-side table, the closing lines, a self-contained HTML page whose colours mean
// the same as the dashboard's, notes in sentences with the raw lines folded away, and progress lines that never
// read like an overrun.
import { describe, expect, it } from 'vitest';
import { renderReportHtml } from '../../src/harness/report-html';
import { summarizeRunNotes } from '../../src/harness/report-notes';
import { loopDelayOf } from '../../src/harness/loop-delay';
import { describeProgress, olmCells, sideBySideTable, verdictLines } from '../../src/harness/report-text';
import { DEFAULT_RACE_OPTIONS } from '../../src/harness/race-options';
import { RACE_REPORT_SCHEMA, type OlmFigures, type RaceReport, type StrategyReport } from '../../src/harness/report-types';
import { zeroOlmFailures } from '../../src/harness/olm-oracle';
import type { Strategy } from '../../src/shared/strategies';

function olmFigures(harm: number): OlmFigures {
  const failures = { ...zeroOlmFailures(), 'one-time-key-gone': harm, 'bad-mac': harm * 2 };
  return {
    decrypted: 10, decryptedAfterQuery: 2, failures, failed: harm * 3, undecryptableRedeliveries: harm,
    redeliveryFailures: { ...zeroOlmFailures(), replayed: harm }, wedgedSessions: harm,
    oneTimeKeysUploadedTwice: harm, oneTimeKeysLost: harm, recoveries: harm, unableToDecrypt: harm,
  };
}

function run(strategy: Strategy, lost: number, ok = true, olmHarm = lost > 0 ? 1 : 0): StrategyReport {
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
    olm: olmFigures(olmHarm),
    mainRestarts: 2,
    liveness: { converged: true, convergedAfterMs: 300 },
    violations: ok ? [] : ['1 message(s) lost'],
    lostSample: [],
    notes: ['The homeserver armed the 2 faults the schedule planned on the device\'s sync requests (2 dropped response); nothing unexpected.'],
    diagnostics: ['homeserver: admin: fault {"kind":"drop-response","count":2} for @phone:localhost PHONE'],
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

  it('table: the send-to-stored part of the latency beside the whole, "-" for a report written before it', () => {
    const lease = { ...run('explicit-lease', 0), storeLatency: { count: 3, p50Ms: 40, p99Ms: 310, maxMs: 310 } };
    const lines = sideBySideTable(report([run('legacy', 7), lease])).split('\n');
    expect(lines.find((line) => line.startsWith('of it, to the store'))).toMatch(/^of it, to the store p50 \/ p99\s+-\s+40 ms \/ 310 ms$/);
  });

  it('table: the latency split at the schedule floor, the part the faults forced and the part beyond, "-" for a report written before it', () => {
    const lease = {
      ...run('explicit-lease', 0),
      scheduleFloor: { forced: { count: 3, p50Ms: 900, p99Ms: 2100, maxMs: 2100 }, beyond: { count: 3, p50Ms: 35, p99Ms: 480, maxMs: 480 } },
    };
    const lines = sideBySideTable(report([run('legacy', 7), lease])).split('\n');
    expect(lines.find((line) => line.startsWith('of it, forced by the faults'))).toMatch(/^of it, forced by the faults p50 \/ p99\s+-\s+900 ms \/ 2100 ms$/);
    expect(lines.find((line) => line.startsWith('beyond what they forced'))).toMatch(/^beyond what they forced p50 \/ p99\s+-\s+35 ms \/ 480 ms$/);
  });

  it('table: the Olm figures side by side: messages never decrypted with their reasons, redeliveries, wedged sessions, one-time keys uploaded twice and lost, recoveries, and the UTD they cause', () => {
    const lines = sideBySideTable(report([run('legacy', 7, true, 2), run('explicit-lease', 0)])).split('\n');
    const line = (label: string): string => lines.find((l) => l.startsWith(label)) ?? `no line ${label}`;
    expect(line('Olm decrypted (after keys/query)')).toMatch(/^Olm decrypted \(after keys\/query\)\s+10 \(2\)\s+10 \(2\)$/);
    expect(line('Olm failures (never decrypted)')).toMatch(/^Olm failures \(never decrypted\)\s+6 \(bad-mac 4, one-time-key-gone 2\)\s+0$/);
    expect(line('Olm redeliveries undecryptable')).toMatch(/\s2 \(replayed 2\)\s+0$/);
    expect(line('wedged Olm sessions')).toMatch(/\s2\s+0$/);
    expect(line('one-time keys uploaded twice')).toMatch(/\s2\s+0$/);
    expect(line('one-time keys lost')).toMatch(/\s2\s+0$/);
    expect(line('Olm recoveries (m.dummy)')).toMatch(/\s2\s+0$/);
    expect(line('UTD from Olm failures')).toMatch(/\s2\s+0$/);
  });

  it('html: the Olm figures are in the side-by-side table, red when there is harm and green at zero', () => {
    const html = renderReportHtml(report([run('legacy', 7, true, 1), run('explicit-lease', 0)]));
    const table = /<table class="figures">.*?<\/table>/s.exec(html)?.[0] ?? '';
    expect(table).toContain('<tr><th scope="row">wedged Olm sessions</th><td class="bad">1</td><td class="good">0</td></tr>');
    expect(table).toContain('<tr><th scope="row">one-time keys uploaded twice</th><td class="bad">1</td><td class="good">0</td></tr>');
    expect(table).toContain('<tr><th scope="row">Olm failures (never decrypted)</th><td class="bad">3 (bad-mac 2, one-time-key-gone 1)</td><td class="good">0</td></tr>');
    const outcomes = /aria-label="lost, duplicated.*?<\/table>/s.exec(html)?.[0] ?? '';
    expect(outcomes).toMatch(/<td class="label">wedged Olm sessions<\/td>.*?<td class="value bad">1<\/td>/s);
  });

  it('campaign line: the Olm figures of a run in one line', () => {
    expect(olmCells(run('legacy', 1, true, 1).olm)).toBe('olm_failed=3 olm_redelivered_undecryptable=1 wedged=1 otk_uploaded_twice=1 otk_lost=1 recoveries=1 olm_utd=1');
  });

  it('verdict: a failed safe strategy ends with the reproducing command', () => {
    const lines = verdictLines(report([run('explicit-cas', 1, false)]));
    expect(lines.at(-1)).toBe('npx todevice race --seed 1');
    expect(lines).toContain('VIOLATION explicit-cas: 1 message(s) lost');
  });

  it('html: the latency bars show the part of the p99 beyond what the faults forced, where the report has it', () => {
    const lease = {
      ...run('explicit-lease', 0),
      scheduleFloor: { forced: { count: 3, p50Ms: 900, p99Ms: 2100, maxMs: 2100 }, beyond: { count: 3, p50Ms: 35, p99Ms: 480, maxMs: 480 } },
    };
    const bars = /aria-label="latency p50 and p99 per strategy".*?<\/table>/s.exec(renderReportHtml(report([run('legacy', 7), lease])))?.[0] ?? '';
    expect(bars.match(/p99 beyond the faults/g)).toHaveLength(1);
    expect(bars).toContain('480 ms');
  });

  it('html: self-contained (no script, no external resource) with charts, and run values escaped', () => {
    const html = renderReportHtml(report([run('legacy', 7), run('explicit-lease', 0)]));
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|src=|href=|@import|https?:\/\//);
    expect(html).toContain('&lt;script&gt;');
  });

  it('html: the strategies side by side are a real table, coloured green for as it should be and red for harm', () => {
    const html = renderReportHtml(report([run('legacy', 7), run('explicit-lease', 0)]));
    const table = /<table class="figures">.*?<\/table>/s.exec(html)?.[0] ?? '';
    expect(table).toMatch(/<th scope="col">legacy<\/th><th scope="col">explicit-lease<\/th>/);
    expect(table).toContain('<tr><th scope="row">lost</th><td class="bad">7</td><td class="good">0</td></tr>');
    expect(table).toContain('<tr><th scope="row">UTD in timeline</th><td class="bad">7</td><td class="good">0</td></tr>');
    expect(table).toContain('<tr><th scope="row">verdict</th><td class="neutral">expected to fail</td><td class="good">ok</td></tr>');
    // Faults are a table too, in words, never one long line that runs off the page.
    expect(html).toMatch(/<table class="faults">.*main killed at a random moment <code>kill-main-random<\/code><\/th><td>2<\/td><td>2<\/td>/s);
  });

  it('html: latency bars are plain quantities (never green or red, the slowest included); outcome bars are red harm', () => {
    const slow = { ...run('explicit-lease', 0), latency: { count: 100, p50Ms: 500, p99Ms: 9000, maxMs: 9000 } };
    const html = renderReportHtml(report([run('legacy', 7), slow]));
    const latency = /aria-label="latency p50 and p99 per strategy">.*?<\/table>/s.exec(html)?.[0] ?? '';
    expect(latency).toContain('9000 ms');
    expect(latency).not.toMatch(/fill (good|bad)/);
    expect(latency).toMatch(/fill plain/);
    const outcomes = /aria-label="lost, duplicated.*?<\/table>/s.exec(html)?.[0] ?? '';
    expect(outcomes).toMatch(/<td class="label">lost<\/td><td class="bar"><div class="track"><div class="fill bad" style="width:100\.0%"><\/div><\/div><\/td><td class="value bad">7<\/td>/);
    expect(outcomes).not.toMatch(/fill (good|plain)/);
  });

  it('html: each strategy\'s notes are sentences; its raw log lines are folded in a details element', () => {
    const html = renderReportHtml(report([run('legacy', 7)]));
    const notes = html.slice(html.indexOf('<h2>Notes</h2>'));
    expect(notes).toMatch(/<h3>legacy<\/h3><ul><li>The homeserver armed the 2 faults/);
    expect(notes).toMatch(/<details><summary>raw lines \(1\)<\/summary><pre>homeserver: admin: fault/);
    expect(html.slice(0, html.indexOf('<h2>Notes</h2>'))).not.toContain('admin: fault');
  });
});

describe('report notes', () => {
  it('notes: the homeserver echoing the faults the harness armed becomes one sentence; other lines are said as what they mean', () => {
    const { notes, diagnostics } = summarizeRunNotes({
      sendFailures: [],
      notifierFailures: ['notifier exit 1: lease busy', 'notifier exit 1: lease busy', 'notifier exit 3: boom'],
      injectorErrors: [],
      mainFailedExits: 0,
      eventLogGap: false,
      mainStderrTail: [],
      serverLog: [
        'admin: fault {"kind":"error","count":2,"status":429} for @phone:localhost PHONE',
        'admin: fault {"kind":"drop-response","count":2} for @phone:localhost PHONE',
        'admin: fault {"kind":"drop-response","count":2} for @phone:localhost PHONE',
        'admin: fault {"kind":"expire-pos"} for @phone:localhost PHONE',
        'push: attempt 1/3 to http://127.0.0.1:4000/_matrix/push/v1/notify failed: ECONNREFUSED',
      ],
    });
    expect(notes).toEqual([
      '3 notifier runs exited with an error rather than by a planned kill; most often: "lease busy".',
      "The homeserver armed the 4 faults the schedule planned on the device's sync requests (1 error 429, 2 dropped response, 1 connection reset (M_UNKNOWN_POS)); nothing unexpected.",
      '1 push to the push gateway had to be retried (the gateway was busy or restarting).',
    ]);
    expect(notes.join(' ')).not.toContain('admin:');
    expect(diagnostics).toContain('homeserver: admin: fault {"kind":"expire-pos"} for @phone:localhost PHONE');
    expect(diagnostics).toContain('notifier: notifier exit 3: boom');
  });

  it('notes: a quiet run has no notes', () => {
    const quiet = { sendFailures: [], notifierFailures: [], injectorErrors: [], mainFailedExits: 0, eventLogGap: false, mainStderrTail: [], serverLog: [] };
    expect(summarizeRunNotes(quiet)).toEqual({ notes: [], diagnostics: [] });
    expect(summarizeRunNotes({ ...quiet, harnessLoopDelay: { p50Ms: 1, p99Ms: 12, maxMs: 40 } })).toEqual({ notes: [], diagnostics: [] });
  });

  it("notes: a harness event loop held up past 50 ms at the 99th percentile is said, with its figures, as a wait of every strategy's server answers", () => {
    const busy = { sendFailures: [], notifierFailures: [], injectorErrors: [], mainFailedExits: 0, eventLogGap: false, mainStderrTail: [], serverLog: [], harnessLoopDelay: { p50Ms: 14, p99Ms: 93, maxMs: 167 } };
    expect(summarizeRunNotes(busy).notes).toEqual([
      "The harness's event loop, which also runs the homeserver, was late by 14 ms at the median, 93 ms at the 99th percentile and 167 ms at most during the faults (a busy machine): every server answer waited that long too, under every strategy.",
    ]);
  });

  it('loop delay: the histogram counts whole timer turns, so a loop never held up reads 0 and the rest is what it was late by', () => {
    expect(loopDelayOf({ p50Ns: 10.1e6, p99Ns: 10.2e6, maxNs: 104.4e6 })).toEqual({ p50Ms: 0, p99Ms: 0, maxMs: 94 });
    expect(loopDelayOf({ p50Ns: 34e6, p99Ns: 113e6, maxNs: Number.NaN })).toEqual({ p50Ms: 24, p99Ms: 103, maxMs: 0 });
  });
});

describe('race progress', () => {
  const progress = { strategy: 'legacy' as const, safetyPhaseMs: 10_000, livenessTimeoutMs: 40_000, sent: 300, plannedSends: 330, handled: 290, kills: 20, faults: 30 };

  it('progress: the liveness phase is measured against its own bound, never as seconds past the safety phase', () => {
    // The safety phase (10 s planned) wound down late on a busy machine; the liveness phase began 3.8 s ago.
    const line = describeProgress({ ...progress, phase: 'liveness', elapsedMs: 13_800, phaseElapsedMs: 3800 });
    expect(line).toBe('legacy: liveness phase (faults off), converging for 3.8 s (bound 40 s) · sent 300 · handled 290');
    expect(line).not.toMatch(/13\.8\s*\/\s*10/);
  });

  it('progress: the safety phase says how far into its planned length it is', () => {
    expect(describeProgress({ ...progress, phase: 'safety', elapsedMs: 6300, phaseElapsedMs: 6300 })).toBe('legacy: safety phase (faults on) 6.3 of 10 s · sent 300 of 330 · handled 290 · 20 kills, 30 faults');
    expect(describeProgress({ ...progress, phase: 'safety', elapsedMs: 10_400, phaseElapsedMs: 10_400 })).toMatch(/safety phase \(faults on\) ending, 10\.4 s/);
    expect(describeProgress({ ...progress, phase: 'done', elapsedMs: 10_700, phaseElapsedMs: 10_700 })).toBe('legacy: done after 10.7 s · sent 300 · handled 290 · 20 kills, 30 faults');
  });
});
