/**
 * The drains of case 1 and case 5, run as alternated rounds so that machine noise hits every figure and its
 * baseline alike. Each round drains one fresh backlog with each of the drain floor (drain-floor.ts: no protocol,
 * one fsync per batch on each side), matrix-js-sdk's sliding sync, our engine at FULL, our engine on `:memory:`
 * and our engine at NORMAL, in that order, and the next round in the reverse order. So every pair a figure compares (FULL and matrix-js-sdk, FULL and in-memory, NORMAL and in-memory) runs
 * back to back in every round, and a slow drift of the machine weighs on both sides of a pair alike. A figure
 * reports the round whose ratio is the median (stats.ts `medianRound`). One drain of a 100,000-message backlog
 * takes a few seconds and these machines are shared: single drains moved by 20% from run to run, and the whole
 * machine sometimes slowed down by half for a minute.
 *
 * Runtime: node. Every drain has its own device and its own backlog, queued while nobody polls that device (see
 * bench-world.ts), so no drain shares server state with another. Before the rounds each client drains an
 * unmeasured warm-up backlog, so no measured drain pays for JIT compilation and module loading that the others
 * would not. And before every drain the heap is collected in full (outside the clock): a matrix-js-sdk drain
 * leaves some 150 MB of garbage (its `MatrixEvent`s), and the drain after it otherwise spent its first
 * seconds collecting that, which would charge one client for another's garbage.
 */
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { BenchWorld } from './bench-world';
import type { BenchSizes, Progress } from './bench-types';
import type { BatchTimings } from './batch-clock';
import { drainWithEngine, type DrainRun } from './drain-engine';
import { startDrainFloor, type DrainFloor } from './drain-floor';
import { drainWithSdk } from './sdk-drain';

/**
 * In this order every compared pair of engines is adjacent (see the header); the drain floor, compared with
 * FULL, runs at the end of the round next to matrix-js-sdk, two drains from FULL.
 */
export const DRAIN_KINDS = ['floor', 'matrix-js-sdk', 'FULL', 'memory', 'NORMAL'] as const;
export type DrainKind = (typeof DRAIN_KINDS)[number];

export interface DrainSamples {
  rounds: number;
  /** Events per second of every round, in round order, per kind. */
  eventsPerS: Record<DrainKind, number[]>;
  /** Each round's median batch timings, per kind (undefined for matrix-js-sdk, which is not timed per batch). */
  batchTimings: Record<DrainKind, Array<BatchTimings | undefined>>;
}

const SDK_DRAIN_BOUND_MS = 600_000;
const WARM_UP_MAX = 10_000;

/**
 * V8's full collection. `--expose-gc` cannot be passed through `npx todevice`, and V8 accepts it at run time;
 * the function then lives in a fresh context's global scope.
 */
function fullGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}
const collectGarbage = fullGc();

async function drainOnce(world: BenchWorld, sizes: BenchSizes, floor: DrainFloor, kind: DrainKind, label: string, backlog: number): Promise<DrainRun> {
  if (kind === 'floor') {
    collectGarbage();
    return floor.drain(label, backlog, sizes.limit);
  }
  const account = await world.device(`DRAIN-${label}`);
  world.queueBacklog(account.deviceId, backlog);
  collectGarbage();
  if (kind === 'matrix-js-sdk') return drainWithSdk(account, backlog, SDK_DRAIN_BOUND_MS);
  return drainWithEngine({
    account,
    storePath: kind === 'memory' ? ':memory:' : path.join(world.dir, `drain-${label}.db`),
    synchronous: kind === 'NORMAL' ? 'NORMAL' : 'FULL',
    expectedEvents: backlog,
    limit: sizes.limit,
  });
}

export async function runDrainRounds(world: BenchWorld, sizes: BenchSizes, progress: Progress): Promise<DrainSamples> {
  const warmUp = Math.min(sizes.backlog, WARM_UP_MAX);
  const floor = await startDrainFloor(world.dir);
  try {
    progress(`case 1/5: warm-up drains of ${warmUp}, our engine, matrix-js-sdk and the drain floor (not measured)`);
    await drainOnce(world, sizes, floor, 'FULL', 'WARM-UP-ENGINE', warmUp);
    await drainOnce(world, sizes, floor, 'matrix-js-sdk', 'WARM-UP-SDK', warmUp);
    await drainOnce(world, sizes, floor, 'floor', 'WARM-UP-FLOOR', warmUp);
    const samples: DrainSamples = {
      rounds: sizes.rounds,
      eventsPerS: { floor: [], 'matrix-js-sdk': [], FULL: [], memory: [], NORMAL: [] },
      batchTimings: { floor: [], 'matrix-js-sdk': [], FULL: [], memory: [], NORMAL: [] },
    };
    for (let round = 0; round < sizes.rounds; round += 1) {
      const order = round % 2 === 0 ? DRAIN_KINDS : [...DRAIN_KINDS].reverse();
      progress(`case 1/5: round ${round + 1} of ${sizes.rounds}: drains of ${sizes.backlog} (${order.join(', ')})`);
      for (const kind of order) {
        const run = await drainOnce(world, sizes, floor, kind, `${kind}-${round}`, sizes.backlog);
        samples.eventsPerS[kind].push(run.eventsPerS);
        samples.batchTimings[kind].push(run.batchTimings);
      }
    }
    return samples;
  } finally {
    await floor.stop();
  }
}
