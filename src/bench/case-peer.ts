/**
 * Case 5, peer: our durable drain at FULL (case 1) against matrix-js-sdk's own sliding sync client draining the
 * same size of backlog from the same homeserver process (see sdk-drain.ts for how the SDK drains and why that is
 * its honest speed). The SDK's drains are rounds of case 1's alternation (see drain-rounds.ts): in every round
 * the SDK's drain and our FULL drain run back to back, so both clients see the machine in the same state, and
 * the figure is the round whose ratio is the median.
 *
 * Runtime: node.
 */
import type { BenchSizes, Figure } from './bench-types';
import type { DrainSamples } from './drain-rounds';
import { medianRound } from './stats';

export function peerFigures(sizes: BenchSizes, samples: DrainSamples): Figure[] {
  const pair = medianRound(samples.eventsPerS.FULL, samples.eventsPerS['matrix-js-sdk']);
  return [
    {
      caseNumber: 5, name: 'durable drain FULL vs matrix-js-sdk', value: pair.value, baselineName: 'matrix-js-sdk SlidingSync, nothing durable',
      baseline: pair.baseline, unit: 'events/s', better: 'higher', target: { op: '>=', ratio: 1 },
      note: `${sizes.backlog} messages, limit ${sizes.limit} both; round ${pair.round + 1} of ${samples.rounds}, the median ratio`,
      rounds: { values: samples.eventsPerS.FULL, baselines: samples.eventsPerS['matrix-js-sdk'] },
    },
  ];
}
