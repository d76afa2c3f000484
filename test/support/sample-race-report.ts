/**
 * A race report shaped like one `todevice race --strategy all` writes (the figures of a real seed-1 run), for
 * checking how the report renders without running a race: the e2e suite opens its HTML in a browser.
 *
 * Runtime: node. Made-up only in that no processes ran; every field is filled the way src/harness fills it.
 */
import { DEFAULT_RACE_OPTIONS } from '../../src/harness/race-options';
import { zeroOlmFailures } from '../../src/harness/olm-oracle';
import { RACE_REPORT_SCHEMA, type RaceReport, type StrategyReport } from '../../src/harness/report-types';
import type { Strategy } from '../../src/shared/strategies';

function strategyRun(strategy: Strategy, figures: { lost: number; duplicated: number; p50: number; p99: number; utd: number; late: number }): StrategyReport {
  const mustBeSafe = strategy === 'explicit-cas' || strategy === 'explicit-lease';
  const faults = {
    'drop-response': 4, 'error-429': 1, 'error-500': 2, 'expire-pos': 3, 'kill-main-point': 2, 'kill-main-random': 1,
    'kill-notifier-point': 5, 'kill-notifier-random': 14, 'sigstop-main': 1, 'write-lock': 1,
  };
  const timeline = Array.from({ length: 60 }, (_, i) => ({ atMs: i * 180, handled: Math.round((330 - figures.lost) * (i / 59)) }));
  return {
    strategy, mustBeSafe, ok: true,
    totals: { sent: 330, delivered: 330 - figures.lost, lost: figures.lost, duplicated: figures.duplicated, reordered: 0 },
    perSender: [],
    latency: { count: 330 - figures.lost, p50Ms: figures.p50, p99Ms: figures.p99, maxMs: figures.p99 + 200 },
    faults, plannedFaults: faults, kills: 22,
    wastedRequests: { stale: mustBeSafe ? 4 : 0, fenced: 0, total: mustBeSafe ? 4 : 0 },
    server: { accepted: 330, deliveredIncludingRedeliveries: 400, deleted: 330, queuedAtEnd: 0 },
    notifiers: { launched: 30, finished: 11, killed: 19, failed: 0, dataMissing: 0 },
    encryption: {
      roomMessages: 30, notifications: { shown: 11, decrypted: 11 - figures.utd, unableToDecrypt: figures.utd },
      timeline: { paged: 30, decrypted: 30 - figures.utd, late: figures.late, unableToDecrypt: figures.utd, notPaged: 0 }, undecryptableSample: [],
    },
    olm: {
      decrypted: 30, decryptedAfterQuery: 3, failures: zeroOlmFailures(), failed: 0, undecryptableRedeliveries: mustBeSafe ? 0 : 1,
      redeliveryFailures: { ...zeroOlmFailures(), replayed: mustBeSafe ? 0 : 1 },
      wedgedSessions: 0, oneTimeKeysUploadedTwice: 0, oneTimeKeysLost: 0, recoveries: 0, unableToDecrypt: 0,
    },
    mainRestarts: 3,
    liveness: { converged: true, convergedAfterMs: 460 },
    violations: strategy === 'explicit-naive' ? ['the main consumer handled a message twice (at 5.8 s)'] : [],
    lostSample: [],
    notes: [
      "The homeserver armed the 5 faults the schedule planned on the device's sync requests (1 error 429, 2 dropped response, 2 connection reset (M_UNKNOWN_POS)); nothing unexpected.",
      '3 notifier runs exited with an error rather than by a planned kill; most often: "timed out waiting for the lease held by main:123456 after 8000 ms while main was stopped".',
    ],
    diagnostics: [
      'homeserver: admin: fault {"kind":"error","count":2,"status":429} for @phone:localhost PHONE',
      'homeserver: admin: fault {"kind":"drop-response","count":2} for @phone:localhost PHONE',
      'notifier: notifier exit 1: timed out waiting for the lease held by main:123456 after 8000 ms while main was stopped, a very long line that has to wrap somewhere',
    ],
    safetyPhaseMs: 10_000,
    elapsedMs: 12_000,
    timeline,
    faultTimeline: [{ atMs: 1200, kind: 'kill-main-random', detail: 'pid 4242' }, { atMs: 3400, kind: 'drop-response', detail: 'count 2' }],
  };
}

export function sampleRaceReport(): RaceReport {
  return {
    schema: RACE_REPORT_SCHEMA, seed: 1, options: DEFAULT_RACE_OPTIONS, scheduleHash: '9ee4c7252a2064fd', processMode: 'bundle',
    startedAt: '2026-12-01T20:17:23.198Z', elapsedMs: 74_400, ok: true,
    reproduce: 'npx todevice race --strategy all --seed 1 --messages 300 --senders 3 --kills 30 --duration 10',
    strategies: [
      strategyRun('legacy', { lost: 40, duplicated: 0, p50: 242, p99: 1281, utd: 4, late: 16 }),
      strategyRun('explicit-naive', { lost: 41, duplicated: 49, p50: 603, p99: 1900, utd: 3, late: 9 }),
      strategyRun('explicit-cas', { lost: 0, duplicated: 0, p50: 155, p99: 1292, utd: 0, late: 5 }),
      strategyRun('explicit-lease', { lost: 0, duplicated: 0, p50: 526, p99: 2697, utd: 0, late: 15 }),
    ],
  };
}
