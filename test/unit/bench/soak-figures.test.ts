import { describe, expect, it } from 'vitest';
import { judge } from '../../../src/bench/bench-types';
import { soakFigures, tenthLatencies, type SoakMeasurements } from '../../../src/bench/soak-figures';

const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

describe('soak figures', () => {
  it('soak figures: the first and last tenth are those of send order, with nearest-rank p50 and p99', () => {
    // 1..100 then 1001..1100 then 2001..2100 ...: 1,000 samples, a tenth is 100 of them.
    const samples = range(0, 10).flatMap((block) => range(block * 1000 + 1, 100));
    const tenths = tenthLatencies(samples);
    expect(tenths.first).toEqual({ p50: 50, p99: 99, samples: 100 });
    expect(tenths.last).toEqual({ p50: 9050, p99: 9099, samples: 100 });
  });

  it('soak figures: fewer than ten samples still give one per tenth, and none give NaN', () => {
    expect(tenthLatencies([5, 7, 9])).toEqual({ first: { p50: 5, p99: 5, samples: 1 }, last: { p50: 9, p99: 9, samples: 1 } });
    const empty = tenthLatencies([]);
    expect(empty.first.p99).toBeNaN();
    expect(empty.last.samples).toBe(0);
  });

  const measurements = (over: Partial<SoakMeasurements> = {}): SoakMeasurements => ({
    messages: 1_000_000,
    warmupMessages: 10_000,
    clientDbBytes: { warmup: 4 * 1024 * 1024, end: 6 * 1024 * 1024 },
    mainRssKb: { start: 60 * 1024, warmup: 90 * 1024, firstTenth: 98 * 1024, end: 100 * 1024 },
    latencyMs: [...Array<number>(100).fill(100), ...Array<number>(800).fill(150), ...Array<number>(100).fill(110)],
    pushToNotificationMs: [300, 400],
    ...over,
  });
  const verdicts = (m: SoakMeasurements): Record<string, boolean | undefined> =>
    Object.fromEntries(soakFigures(m).map(judge).filter((f) => f.target !== undefined).map((f) => [f.name, f.pass]));

  it('soak figures: the three targets are judged against the warm-up and the first tenth', () => {
    expect(verdicts(measurements())).toEqual({
      'client.db after 1,000,000 messages': true,
      'main RSS at the end': true,
      'send→handled p99, last 10%': true,
    });
  });

  it('soak figures: a store over 2×, memory over 1.25× and a last-tenth p99 over 1.25× each fail', () => {
    const failing = measurements({
      clientDbBytes: { warmup: 4 * 1024 * 1024, end: 9 * 1024 * 1024 },
      mainRssKb: { start: 60 * 1024, warmup: 80 * 1024, firstTenth: 100 * 1024, end: 101 * 1024 },
      latencyMs: [...Array<number>(10).fill(100), ...Array<number>(80).fill(100), ...Array<number>(10).fill(126)],
    });
    expect(Object.values(verdicts(failing))).toEqual([false, false, false]);
  });
});
