// When a race run converged: the first sight of the converged state, once it held for the confirmation window.
import { describe, expect, it } from 'vitest';
import { ConvergenceWatch } from '../../src/harness/convergence-watch';

/** Feeds checks 50 ms apart from 0 ms; returns the first moment the watch reports, or undefined. */
function firstReport(watch: ConvergenceWatch, passes: readonly boolean[]): { reportedAtCheckMs: number; convergedAtMs: number } | undefined {
  for (const [index, passed] of passes.entries()) {
    const convergedAtMs = watch.record(index * 50, passed);
    if (convergedAtMs !== undefined) return { reportedAtCheckMs: index * 50, convergedAtMs };
  }
  return undefined;
}

describe('convergence watch', () => {
  it('convergence watch: the time to converge is the first passing check, not the last check that confirmed it', () => {
    // Fails at 0 and 50 ms, passes from 100 ms on: confirmed at 500 ms, converged at 100 ms.
    const passes = [false, false, ...Array.from({ length: 12 }, () => true)];
    expect(firstReport(new ConvergenceWatch(400), passes)).toEqual({ reportedAtCheckMs: 500, convergedAtMs: 100 });
  });

  it('convergence watch: a state that passes and falls back before the window ends starts the stretch again', () => {
    // Passes 0–300 ms, fails at 350, passes again from 400 ms: converged at 400, confirmed at 800.
    const passes = [true, true, true, true, true, true, true, false, ...Array.from({ length: 10 }, () => true)];
    expect(firstReport(new ConvergenceWatch(400), passes)).toEqual({ reportedAtCheckMs: 800, convergedAtMs: 400 });
  });

  it('convergence watch: nothing is reported before the window has passed', () => {
    expect(firstReport(new ConvergenceWatch(400), [true, true, true, true, true, true, true, true])).toBeUndefined();
  });
});
