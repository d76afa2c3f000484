/**
 * Named failure-mode scenarios about processes, on real OS processes: the app's main sync process and one
 * notifier per push, driven by the race harness with a hand-written schedule (src/harness/scenario-race.ts),
 * judged by the same oracle as `todevice race` (lost / duplicated / reordered as seen by the main consumer).
 */
import { describe, expect, it } from 'vitest';
import { pushesAt, runScenarioRace, toDeviceSends, type ScenarioPlan } from '../../src/harness/scenario-race';
import type { StrategyReport } from '../../src/harness/report-types';
import type { Strategy } from '../../src/shared/strategies';

const clean = { lost: 0, duplicated: 0, reordered: 0 };

function expectSafe(report: StrategyReport): void {
  expect(report.violations, JSON.stringify({ notes: report.notes, diagnostics: report.diagnostics })).toEqual([]);
  expect(report.totals).toMatchObject(clean);
  expect(report.totals.sent).toBeGreaterThan(0);
}

const run = (strategy: Strategy, plan: ScenarioPlan): Promise<StrategyReport> => runScenarioRace(strategy, plan);

/** Main is down (killed, restarted late) while pushes start notifiers that sync the same device. */
const mainDownDuringPushes: ScenarioPlan = {
  durationS: 5,
  timed: [{ atMs: 300, kind: 'kill-main', how: { kind: 'random' }, restartDelayMs: 3200 }],
  sends: [...toDeviceSends(500, 12, 100), ...pushesAt([900, 1700, 2500]), ...toDeviceSends(3800, 4, 100)],
};

/** Main is SIGSTOPped in its long poll past its 3 s lease; messages and pushes arrive meanwhile; it wakes. */
const mainStalledPastLease: ScenarioPlan = {
  durationS: 8,
  timed: [{ atMs: 1200, kind: 'sigstop-main', stallMs: 4500 }],
  sends: [...toDeviceSends(1500, 10, 80), ...pushesAt([2400, 3400])],
};

describe('failure modes between real processes', () => {
  it('scenario F1: one process acknowledges what the other never handled: under legacy the notifiers acknowledge messages main never gets (lost); cas/lease lose nothing', async () => {
    const legacy = await run('legacy', mainDownDuringPushes);
    expect(legacy.totals.lost).toBeGreaterThan(0);
    expectSafe(await run('explicit-cas', mainDownDuringPushes));
    expectSafe(await run('explicit-lease', mainDownDuringPushes));
  }, 90_000);

  it('scenario F9: the main process stalls past its lease (SIGSTOP) with a response in flight, a notifier takes over, and the stale process wakes and commits: explicit-naive duplicates; cas discards it as stale; with the lease a notifier takes over and nothing is lost or duplicated', async () => {
    const naive = await run('explicit-naive', mainStalledPastLease);
    expect(naive.totals.duplicated).toBeGreaterThan(0);
    const cas = await run('explicit-cas', mainStalledPastLease);
    expectSafe(cas);
    expect(cas.wastedRequests.stale).toBeGreaterThan(0);
    const lease = await run('explicit-lease', mainStalledPastLease);
    expectSafe(lease);
    expect(lease.notifiers.finished).toBeGreaterThan(0);
  }, 90_000);

  it('scenario F10: the main process crashes (SIGKILL) holding the lease; under legacy the notifiers that take over acknowledge what main never gets (lost); with the lease it lapses and a notifier takes over, nothing lost', async () => {
    const plan: ScenarioPlan = {
      durationS: 6,
      timed: [{ atMs: 1000, kind: 'kill-main', how: { kind: 'random' }, restartDelayMs: 4000 }],
      sends: [...toDeviceSends(1200, 10, 100), ...pushesAt([1500, 2600, 3600])],
    };
    expect((await run('legacy', plan)).totals.lost).toBeGreaterThan(0);
    expectSafe(await run('explicit-cas', plan));
    const lease = await run('explicit-lease', plan);
    expectSafe(lease);
    expect(lease.faults['kill-main-random']).toBe(1);
    expect(lease.notifiers.finished).toBeGreaterThan(0);
  }, 90_000);

  it('scenario F17: crash after commit before the handler ran (notifiers SIGKILLed at after-commit-before-ack, main at consumer-after-effect-before-cursor): under legacy the rows a notifier committed never reach main (lost); cas/lease hand them to main after the crash, once', async () => {
    const plan: ScenarioPlan = {
      durationS: 6,
      timed: [
        { atMs: 300, kind: 'kill-main', how: { kind: 'random' }, restartDelayMs: 2600 },
        { atMs: 4000, kind: 'kill-main', how: { kind: 'point', point: 'consumer-after-effect-before-cursor', nth: 2 }, restartDelayMs: 300 },
      ],
      notifierFaults: [{ kind: 'kill-point', point: 'after-commit-before-ack' }, { kind: 'none' }, { kind: 'kill-point', point: 'after-commit-before-ack' }, { kind: 'none' }],
      sends: [...toDeviceSends(500, 10, 100), ...pushesAt([900, 1500, 2100, 2600]), ...toDeviceSends(4200, 6, 100)],
    };
    expect((await run('legacy', plan)).totals.lost).toBeGreaterThan(0);
    const cas = await run('explicit-cas', plan);
    expectSafe(cas);
    expect(cas.faults['kill-notifier-point']).toBeGreaterThan(0);
    expectSafe(await run('explicit-lease', plan));
  }, 90_000);

  it('scenario F11: notifiers need the lease, the later ones while main long-polls (30 s): with explicit-lease every pushed notification finds its room key and no message waits out the 30 s long poll of main; legacy notifiers acknowledge messages main never gets (lost)', async () => {
    const plan: ScenarioPlan = {
      durationS: 6,
      timed: [{ atMs: 200, kind: 'kill-main', how: { kind: 'random' }, restartDelayMs: 2000 }],
      sends: [...toDeviceSends(400, 6, 100), ...pushesAt([1000, 1800, 3500, 4500])],
    };
    expect((await run('legacy', plan)).totals.lost).toBeGreaterThan(0);
    const lease = await run('explicit-lease', plan);
    expectSafe(lease);
    expect(lease.notifiers).toMatchObject({ launched: 4, finished: 4, dataMissing: 0 });
    // Main is down for 2 s by plan, so that much latency is expected; what must not happen is a message waiting
    // for the end of a 30 s long poll. Half of it separates the two on a machine as loaded as it may be.
    expect(lease.latency.p99Ms).toBeLessThan(15_000);
    expectSafe(await run('explicit-cas', plan));
  }, 90_000);
});
