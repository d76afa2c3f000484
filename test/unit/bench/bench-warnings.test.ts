import { describe, expect, it } from 'vitest';
import { judge, type Figure } from '../../../src/bench/bench-types';
import { benchWarnings, FLOOR_FIGURE, LIVE_FIGURE } from '../../../src/bench/bench-warnings';

const live = (value: number): Figure => ({
  caseNumber: 2, name: LIVE_FIGURE, value, baselineName: 'bare', baseline: 1, unit: 'ms', better: 'lower', target: { op: '<=', ratio: 3 },
});
const floor = (value: number): Figure => ({ caseNumber: 2, name: FLOOR_FIGURE, value, baselineName: 'its bare', baseline: 1, unit: 'ms', better: 'lower' });

describe('bench warnings', () => {
  it('bench warnings: a two-fsync floor above the live-latency target says the machine, not the code, missed it', () => {
    const warnings = benchWarnings([live(3.8), floor(3.5)].map(judge));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('3.50× a round trip, above the 3× live-latency target');
  });

  it('bench warnings: nothing when the floor is within the target, or when case 2 did not run', () => {
    expect(benchWarnings([live(3.2), floor(2.2)].map(judge))).toEqual([]);
    expect(benchWarnings([live(2.8)].map(judge))).toEqual([]);
  });
});
