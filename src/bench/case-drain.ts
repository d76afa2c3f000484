/**
 * Case 1, drain: a backlog of `backlog` to-device messages drained into the durable inbox by the
 * `explicit-lease` engine, in events per second, at `synchronous` FULL and NORMAL.
 *
 * Baselines, measured in the same run against the same homeserver process with identical backlogs (each drain
 * has its own device so none of them shares server state with another):
 * - the same engine on an in-memory store (`:memory:`): what durability costs. The durable and in-memory drains
 *   run back to back in alternated rounds (drain-rounds.ts), and each figure is the round whose ratio is the
 *   median;
 * - raw SQLite inserting the same rows in batches of the same size (the limit), at the same `synchronous`.
 * And one batch's commit (`commitBatch`: fence, token compare-and-set, append) against a raw insert of the same
 * rows in one transaction, timed alternately batch by batch so machine noise hits both alike.
 *
 * Runtime: node.
 */
import path from 'node:path';
import type { ToDeviceEvent } from '../shared/wire';
import { commitBatch } from '../store/commit-batch';
import { TO_DEVICE_LEASE_KEY, tryAcquireLease } from '../store/lease';
import { openStore } from '../store/open-store';
import type { BenchWorld } from './bench-world';
import { BENCH_EVENT_TYPE, benchContent } from './bench-world';
import type { BenchSizes, Figure, Progress } from './bench-types';
import { runDrainRounds, type DrainSamples } from './drain-rounds';
import { rawInsertBatch } from './raw-insert';
import { median, medianRound, nowMs, perSecond } from './stats';

type Synchronous = 'FULL' | 'NORMAL';

export interface DrainCaseResult {
  figures: Figure[];
  /** Every round's drain rates, matrix-js-sdk's included, which case 5 compares. */
  samples: DrainSamples;
}

function benchEvents(first: number, count: number): ToDeviceEvent[] {
  const events: ToDeviceEvent[] = [];
  for (let i = first; i < first + count; i += 1) {
    events.push({ type: BENCH_EVENT_TYPE, sender: `@bench-sender-${i % 4}:localhost`, content: benchContent(i) });
  }
  return events;
}

function rawDrain(world: BenchWorld, sizes: BenchSizes, synchronous: Synchronous): number {
  const store = openStore(path.join(world.dir, `raw-${synchronous}.db`), { synchronous });
  try {
    const startedMs = nowMs();
    for (let first = 0; first < sizes.backlog; first += sizes.limit) {
      rawInsertBatch(store, benchEvents(first, Math.min(sizes.limit, sizes.backlog - first)), `raw-${first}`, Date.now());
    }
    return perSecond(sizes.backlog, nowMs() - startedMs);
  } finally {
    store.close();
  }
}

/** Median milliseconds of one `commitBatch` and of one raw insert of the same rows, timed alternately. */
function commitVersusRaw(world: BenchWorld, sizes: BenchSizes, synchronous: Synchronous): { commitMs: number; rawMs: number } {
  const engineStore = openStore(path.join(world.dir, `commit-${synchronous}.db`), { synchronous });
  const rawStore = openStore(path.join(world.dir, `commit-raw-${synchronous}.db`), { synchronous });
  try {
    const lease = tryAcquireLease(engineStore, { key: TO_DEVICE_LEASE_KEY, holder: 'main:1', durationMs: 3_600_000, nowMs: Date.now() });
    if (!lease.acquired) throw new Error('bench: could not take the lease on a fresh store');
    const fence = { key: TO_DEVICE_LEASE_KEY, holder: 'main:1', generation: lease.generation };
    const commitSamples: number[] = [];
    const rawSamples: number[] = [];
    let since: string | null = null;
    for (let k = 0; k < sizes.commitBatches; k += 1) {
      const events = benchEvents(k * sizes.limit, sizes.limit);
      const nextBatch = `batch-${k}`;
      const commitStartMs = nowMs();
      const result = commitBatch(engineStore, { expectedSince: since, nextBatch, events, process: 'main', pid: 1, nowMs: Date.now(), fence });
      commitSamples.push(nowMs() - commitStartMs);
      if (result.kind !== 'committed') throw new Error(`bench: commitBatch returned ${result.kind}`);
      since = nextBatch;
      const rawStartMs = nowMs();
      rawInsertBatch(rawStore, events, nextBatch, Date.now());
      rawSamples.push(nowMs() - rawStartMs);
    }
    return { commitMs: median(commitSamples), rawMs: median(rawSamples) };
  } finally {
    engineStore.close();
    rawStore.close();
  }
}

export async function runDrainCase(world: BenchWorld, sizes: BenchSizes, progress: Progress): Promise<DrainCaseResult> {
  const samples = await runDrainRounds(world, sizes, progress);
  const figures: Figure[] = [];
  for (const synchronous of ['FULL', 'NORMAL'] as const) {
    const pair = medianRound(samples.eventsPerS[synchronous], samples.eventsPerS.memory);
    const durable = pair.value;
    const note = `${sizes.backlog} messages, limit ${sizes.limit}; round ${pair.round + 1} of ${samples.rounds}, the median ratio`;
    progress(`case 1: raw inserts at ${synchronous}`);
    const rawPerS = rawDrain(world, sizes, synchronous);
    progress(`case 1: commit versus raw insert at ${synchronous}`);
    const commit = commitVersusRaw(world, sizes, synchronous);
    figures.push(
      {
        caseNumber: 1, name: `drain ${synchronous} vs in-memory`, value: durable, baselineName: 'same engine, :memory:',
        baseline: pair.baseline, unit: 'events/s', better: 'higher', target: { op: '>=', ratio: synchronous === 'FULL' ? 0.7 : 0.85 }, note,
        rounds: { values: samples.eventsPerS[synchronous], baselines: samples.eventsPerS.memory },
      },
      {
        caseNumber: 1, name: `drain ${synchronous} vs raw SQLite`, value: durable, baselineName: `raw inserts, ${sizes.limit}/tx`,
        baseline: rawPerS, unit: 'events/s', better: 'higher', note: 'the limit; no target (the drain also does HTTP)',
      },
      {
        caseNumber: 1, name: `one batch's commit ${synchronous}`, value: commit.commitMs, baselineName: 'raw insert, 1 tx',
        baseline: commit.rawMs, unit: 'ms', better: 'lower', target: { op: '<=', ratio: 1.5 },
        note: `median of ${sizes.commitBatches} batches of ${sizes.limit}`,
      },
    );
  }
  const floor = medianRound(samples.eventsPerS.FULL, samples.eventsPerS.floor);
  figures.push({
    caseNumber: 1, name: 'drain FULL vs the drain floor', value: floor.value, baselineName: 'drain floor, no protocol',
    baseline: floor.baseline, unit: 'events/s', better: 'higher', target: { op: '>=', ratio: 0.8 },
    note: `raw node:http and one FULL commit per batch on each side (drain-floor.ts); round ${floor.round + 1} of ${samples.rounds}, the median ratio`,
    rounds: { values: samples.eventsPerS.FULL, baselines: samples.eventsPerS.floor },
  });
  figures.push(...batchPartFigures(samples, floor.round));
  return { figures, samples };
}

/**
 * Where the drain's time goes against the floor's, in the round the floor figure reports: each batch's request
 * to parsed answer (the server's work, the hop, and what the client does while it waits) and answer to durable
 * commit (the client's store), medians of that round's batches. No targets: they explain the ratio above.
 */
function batchPartFigures(samples: DrainSamples, round: number): Figure[] {
  const ours = samples.batchTimings.FULL[round];
  const floor = samples.batchTimings.floor[round];
  if (ours === undefined || floor === undefined) return [];
  const note = `median batch of round ${round + 1}, the round of the drain floor figure`;
  return [
    {
      caseNumber: 1, name: 'drain FULL request→answer per batch', value: ours.requestToAnswerMs, baselineName: "the drain floor's",
      baseline: floor.requestToAnswerMs, unit: 'ms', better: 'lower', note: `${note}; the server's work, the hop and the client's work while it waits`,
    },
    {
      caseNumber: 1, name: 'drain FULL answer→commit per batch', value: ours.answerToCommitMs, baselineName: "the drain floor's",
      baseline: floor.answerToCommitMs, unit: 'ms', better: 'lower', note: `${note}; the client's checks and its durable commit`,
    },
  ];
}
