// The campaign's latency figures: pooled over the seeds' samples, and explicit-lease's targets judged seed by seed.
import { describe, expect, it } from 'vitest';
import { campaignLatency, campaignLatencyTable, latencyVerdictLines } from '../../src/harness/campaign-latency';
import type { RaceReport, StrategyReport } from '../../src/harness/report-types';
import type { Strategy } from '../../src/shared/strategies';
import { sampleRaceReport } from '../support/sample-race-report';

function run(strategy: Strategy, samples: number[] | undefined, figures: { p50: number; p99: number; convergedMs: number | null; wasted: number }): StrategyReport {
  const base = sampleRaceReport().strategies.find((one) => one.strategy === strategy);
  if (base === undefined) throw new Error(`no sample run for ${strategy}`);
  const { latencySamplesMs: _none, ...rest } = base;
  return {
    ...rest,
    ...(samples === undefined ? {} : { latencySamplesMs: [...samples].sort((a, b) => a - b) }),
    latency: { count: samples?.length ?? 0, p50Ms: figures.p50, p99Ms: figures.p99, maxMs: figures.p99 },
    liveness: { converged: figures.convergedMs !== null, convergedAfterMs: figures.convergedMs },
    wastedRequests: { stale: figures.wasted, fenced: 0, total: figures.wasted },
  };
}

function seed(seedNumber: number, strategies: StrategyReport[]): RaceReport {
  return { ...sampleRaceReport(), seed: seedNumber, strategies };
}

describe('campaign latency', () => {
  it('campaign latency: percentiles are pooled over every message of every seed, not averaged per seed', () => {
    // Seed 1: 90 fast messages; seed 2: 10 slow ones. Pooled, the median is fast and the p99 slow.
    const fast = Array.from({ length: 90 }, (_, i) => 100 + i);
    const slow = Array.from({ length: 10 }, (_, i) => 5000 + i);
    const latency = campaignLatency([
      seed(1, [run('explicit-cas', fast, { p50: 145, p99: 189, convergedMs: 420, wasted: 3 })]),
      seed(2, [run('explicit-cas', slow, { p50: 5004, p99: 5009, convergedMs: 900, wasted: 5 })]),
    ]);
    const [cas] = latency.strategies;
    expect(cas).toMatchObject({ strategy: 'explicit-cas', seeds: 2, samples: 100, p50Ms: 149, p99Ms: 5008, maxMs: 5009 });
    expect(cas).toMatchObject({ worstSeedP50Ms: 5004, worstSeedP99Ms: 5009, convergeMaxMs: 900, notConverged: 0, wastedRequests: 8, worstSeedWastedRequests: 5 });
    expect(campaignLatencyTable(latency)).toContain('explicit-cas');
    expect(campaignLatencyTable(latency, 'markdown').split('\n')[1]).toMatch(/^\| --- \|/);
  });

  it('campaign latency: the send-to-stored part is pooled over the seeds that recorded it, and shown beside the whole', () => {
    const withStore = (report: StrategyReport, samples: number[] | undefined): StrategyReport => {
      const { storeLatencySamplesMs: _none, ...rest } = report;
      return samples === undefined ? rest : { ...rest, storeLatencySamplesMs: samples };
    };
    const latency = campaignLatency([
      seed(1, [withStore(run('explicit-lease', [500, 900], { p50: 500, p99: 900, convergedMs: 400, wasted: 0 }), [40, 60])]),
      seed(2, [withStore(run('explicit-lease', [700, 2000], { p50: 700, p99: 2000, convergedMs: 400, wasted: 0 }), [80, 1200])]),
      seed(3, [withStore(run('explicit-lease', [800], { p50: 800, p99: 800, convergedMs: 400, wasted: 0 }), undefined)]),
    ]);
    expect(latency.strategies[0]).toMatchObject({ samples: 5, p50Ms: 800, storeP50Ms: 60, storeP99Ms: 1200 });
    const table = campaignLatencyTable(latency).split('\n');
    expect(table[0]).toContain('to the store p50 / p99');
    expect(table[2]).toContain('60 ms / 1200 ms');
    const none = campaignLatency([seed(3, [withStore(run('explicit-lease', [800], { p50: 800, p99: 800, convergedMs: 400, wasted: 0 }), undefined)])]);
    expect(none.strategies[0]).toMatchObject({ storeP50Ms: null, storeP99Ms: null });
  });

  it('campaign latency: explicit-lease meeting every target on every seed is reported as met', () => {
    const latency = campaignLatency([
      seed(7, [
        run('explicit-cas', [200, 300, 400], { p50: 300, p99: 400, convergedMs: 430, wasted: 4 }),
        run('explicit-lease', [150, 250, 350], { p50: 250, p99: 350, convergedMs: 425, wasted: 0 }),
      ]),
    ]);
    expect(latency.targetsMet).toBe(true);
    expect(latency.targets).toHaveLength(5);
    expect(latencyVerdictLines(latency)[0]).toMatch(/^speed targets of explicit-lease: MET on all 1 seed/);
  });

  it('campaign latency: each miss names its seed and the bound, and a seed without explicit-cas is judged on the absolute targets only', () => {
    const latency = campaignLatency([
      seed(1, [
        run('explicit-cas', [100], { p50: 100, p99: 100, convergedMs: 400, wasted: 0 }),
        run('explicit-lease', [300], { p50: 300, p99: 300, convergedMs: 400, wasted: 2 }),
      ]),
      seed(2, [run('explicit-lease', [4737, 9343], { p50: 4737, p99: 9343, convergedMs: null, wasted: 0 })]),
    ]);
    expect(latency.targetsMet).toBe(false);
    // Seed 1: five checks (two against explicit-cas missed); seed 2: three absolute checks, all missed.
    expect(latency.targets).toHaveLength(8);
    const lines = latencyVerdictLines(latency);
    expect(lines[0]).toMatch(/MISSED 5 of 8 checks over 2 seed/);
    expect(lines).toContain("  seed 1: p50 300 ms <= explicit-cas's 100 ms is not met");
    expect(lines).toContain("  seed 1: wasted requests 2 <= explicit-cas's 0 is not met");
    expect(lines).toContain('  seed 2: p50 4737 ms <= 500 ms is not met');
    expect(lines).toContain('  seed 2: p99 9343 ms <= 2000 ms is not met');
    expect(lines).toContain('  seed 2: converged never <= 1000 ms is not met');
    expect(latency.strategies.find((a) => a.strategy === 'explicit-lease')?.notConverged).toBe(1);
  });

  it('campaign latency: reports without samples count per seed and are named; no explicit-lease run is not a pass', () => {
    const latency = campaignLatency([seed(3, [run('explicit-cas', undefined, { p50: 287, p99: 1662, convergedMs: 424, wasted: 4 })])]);
    expect(latency.strategies[0]).toMatchObject({ samples: 0, p50Ms: null, worstSeedP50Ms: 287, seedsWithoutSamples: [3] });
    expect(latency.targetsMet).toBe(false);
    expect(latencyVerdictLines(latency)).toEqual(['speed targets of explicit-lease: not judged (explicit-lease did not run)']);
  });
  it('campaign latency: the targets are judged again on the latency beyond what the faults forced, in a verdict of its own beside the first', () => {
    const withFloor = (report: StrategyReport, beyond: number[]): StrategyReport => ({
      ...report,
      scheduleFloor: {
        forced: { count: beyond.length, p50Ms: 3000, p99Ms: 6000, maxMs: 6000 },
        beyond: { count: beyond.length, p50Ms: beyond[Math.floor(beyond.length / 2)] ?? null, p99Ms: beyond.at(-1) ?? null, maxMs: beyond.at(-1) ?? null },
      },
      beyondFloorSamplesMs: beyond,
    });
    const latency = campaignLatency([
      seed(4, [
        withFloor(run('explicit-cas', [3100, 6200], { p50: 3100, p99: 6200, convergedMs: 400, wasted: 9 }), [90, 200]),
        withFloor(run('explicit-lease', [3050, 6100], { p50: 3050, p99: 6100, convergedMs: 400, wasted: 0 }), [60, 120]),
      ]),
      seed(5, [withFloor(run('explicit-lease', [2900, 8000], { p50: 2900, p99: 8000, convergedMs: 400, wasted: 0 }), [80, 90, 2500])]),
    ]);
    expect(latency.strategies.find((a) => a.strategy === 'explicit-lease')).toMatchObject({ beyondP50Ms: 90, beyondP99Ms: 2500 });
    expect(latency.targetsBeyondFaults).toHaveLength(5);
    const lines = latencyVerdictLines(latency);
    expect(lines[0]).toMatch(/^speed targets of explicit-lease: MISSED/);
    const second = lines.findIndex((line) => line.startsWith('the same latency targets on the latency beyond what the faults forced'));
    expect(lines[second]).toMatch(/MISSED 1 of 5 checks over 2 seed/);
    expect(lines.slice(second + 1)).toEqual(['  seed 5: p99 2500 ms <= 2000 ms is not met']);
    expect(campaignLatencyTable(latency).split('\n')[0]).toContain('beyond the faults p50 / p99');
    // Reports written before the split have no second verdict.
    expect(latencyVerdictLines(campaignLatency([seed(6, [run('explicit-lease', [100], { p50: 100, p99: 100, convergedMs: 400, wasted: 0 })])]))).toHaveLength(1);
  });
});
