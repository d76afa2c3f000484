/**
 * Case 1, drain: a backlog of `backlog` to-device messages drained into the durable inbox by the
 * `explicit-lease` engine, in events per second, at `synchronous` FULL and NORMAL.
 *
 * Baselines, measured in the same run against the same homeserver with identical backlogs (each drain has its
 * own device so none of them shares server state with another):
 * - the same engine on an in-memory store (`:memory:`): what durability costs;
 * - raw SQLite inserting the same rows in batches of the same size (the limit), at the same `synchronous`.
 * And one batch's commit (`commitBatch`: fence, token compare-and-set, append) against a raw insert of the same
 * rows in one transaction, timed alternately batch by batch so machine noise hits both alike.
 *
 * Runtime: node.
 */
import path from 'node:path';
import type { ToDeviceEvent } from '../shared/wire';
import { commitBatch } from '../store/commit-batch';
import { tryAcquireLease } from '../store/lease';
import { openStore } from '../store/open-store';
import type { BenchWorld } from './bench-world';
import { BENCH_EVENT_TYPE, benchContent } from './bench-world';
import type { BenchSizes, Figure, Progress } from './bench-types';
import { drainWithEngine, type DrainRun } from './drain-engine';
import { rawInsertBatch } from './raw-insert';
import { median, nowMs, perSecond } from './stats';

type Synchronous = 'FULL' | 'NORMAL';

export interface DrainCaseResult {
  figures: Figure[];
  /** The durable drain at FULL, which case 5 compares matrix-js-sdk against. */
  durableFull: DrainRun;
}

function benchEvents(first: number, count: number): ToDeviceEvent[] {
  const events: ToDeviceEvent[] = [];
  for (let i = first; i < first + count; i += 1) {
    events.push({ type: BENCH_EVENT_TYPE, sender: `@bench-sender-${i % 4}:localhost`, content: benchContent(i) });
  }
  return events;
}

async function engineDrain(world: BenchWorld, sizes: BenchSizes, label: string, storePath: string, synchronous: Synchronous): Promise<DrainRun> {
  const account = await world.device(`DRAIN-${label}`);
  world.queueBacklog(account.deviceId, sizes.backlog);
  return drainWithEngine({ account, storePath, synchronous, expectedEvents: sizes.backlog, limit: sizes.limit });
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
    const lease = tryAcquireLease(engineStore, { key: 'to-device', holder: 'main:1', durationMs: 3_600_000, nowMs: Date.now() });
    if (!lease.acquired) throw new Error('bench: could not take the lease on a fresh store');
    const fence = { key: 'to-device', holder: 'main:1', generation: lease.generation };
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
  const note = `${sizes.backlog} messages, limit ${sizes.limit}`;
  // An unmeasured warm-up drain, so the first measured drain does not pay for JIT compilation and cold caches
  // that the later ones (and matrix-js-sdk's in case 5) would not.
  const warmUp = Math.min(sizes.backlog, 10_000);
  progress(`case 1: warm-up drain of ${warmUp} (not measured)`);
  await engineDrain(world, { ...sizes, backlog: warmUp }, 'WARM-UP', path.join(world.dir, 'warm-up.db'), 'FULL');
  progress(`case 1: in-memory drain of ${sizes.backlog}`);
  const memory = await engineDrain(world, sizes, 'MEMORY', ':memory:', 'FULL');
  const figures: Figure[] = [];
  let durableFull: DrainRun | undefined;
  for (const synchronous of ['FULL', 'NORMAL'] as const) {
    progress(`case 1: durable drain at ${synchronous}`);
    const durable = await engineDrain(world, sizes, synchronous, path.join(world.dir, `drain-${synchronous}.db`), synchronous);
    if (synchronous === 'FULL') durableFull = durable;
    progress(`case 1: raw inserts at ${synchronous}`);
    const rawPerS = rawDrain(world, sizes, synchronous);
    progress(`case 1: commit versus raw insert at ${synchronous}`);
    const commit = commitVersusRaw(world, sizes, synchronous);
    figures.push(
      {
        caseNumber: 1, name: `drain ${synchronous} vs in-memory`, value: durable.eventsPerS, baselineName: 'same engine, :memory:',
        baseline: memory.eventsPerS, unit: 'events/s', better: 'higher', target: { op: '>=', ratio: synchronous === 'FULL' ? 0.7 : 0.85 }, note,
      },
      {
        caseNumber: 1, name: `drain ${synchronous} vs raw SQLite`, value: durable.eventsPerS, baselineName: `raw inserts, ${sizes.limit}/tx`,
        baseline: rawPerS, unit: 'events/s', better: 'higher', note: 'the limit; no target (the drain also does HTTP)',
      },
      {
        caseNumber: 1, name: `one batch's commit ${synchronous}`, value: commit.commitMs, baselineName: 'raw insert, 1 tx',
        baseline: commit.rawMs, unit: 'ms', better: 'lower', target: { op: '<=', ratio: 1.5 },
        note: `median of ${sizes.commitBatches} batches of ${sizes.limit}`,
      },
    );
  }
  if (durableFull === undefined) throw new Error('bench: no FULL drain');
  return { figures, durableFull };
}
