/**
 * Case 8, scaling: whether the paths a device depends on stay as fast when the numbers get large.
 * - Drain rate with 1k, 10k, 100k and 1M messages queued for the device on the server: the `explicit-lease`
 *   engine at FULL (drain-engine.ts, as case 1), each queue size on a fresh device; each figure against the
 *   smallest queue's rate (target ≥ 0.8×, flat within 20%). A queue smaller than `SCALING_MIN_DRAINED` is
 *   drained as many times as it takes to reach it, each time freshly queued on its own device, and its rate is
 *   the median of those drains (one drain of 1,000 takes some 50 ms, and single drains of 10,000 on this shared
 *   machine went from 12,000 to 24,000 events/s: a single one would be noise). An untimed drain of 10,000 runs
 *   first, so the JIT's warm-up is not charged to the baseline.
 * - One batch's commit (`commitBatch`, 100 events, FULL) on a store whose inbox already holds 1M rows, against
 *   the same on an empty store, alternated batch by batch so the shared machine's noise hits both alike (target
 *   ≤ 1.2×). The 1M rows are written beforehand by raw inserts into the same table (raw-insert.ts), 10,000 per
 *   transaction: what they are is immaterial, that they are indexed rows of the same table is the point.
 * - `sendToDevice` round trips (one sender, one message, one device) to a user with 1, 100 and 10,000 devices
 *   registered, while 100k messages are queued for another device; the three targets alternate request by
 *   request, and each figure is a p50 against the single device's (target ≤ 1.2×). The extra devices are
 *   inserted with the row login writes (bench-world.ts `registerDevices`), and the 100k messages through the
 *   server's own queue (`queueBacklog`), as every backlog of the bench is.
 *
 * Runtime: node. Part of the full `todevice bench` (it adds about 1.5 minutes: the 1M-message queue and its
 * drain, the 1M-row inbox, the 10,000 devices); `todevice bench --scaling` runs it alone; `--quick` at tiny
 * sizes, as every case.
 */
import path from 'node:path';
import type { ToDeviceEvent } from '../shared/wire';
import { commitBatch } from '../store/commit-batch';
import { TO_DEVICE_LEASE_KEY, tryAcquireLease } from '../store/lease';
import { openStore, type ClientStore } from '../store/open-store';
import { BENCH_EVENT_TYPE, benchContent, type BenchWorld } from './bench-world';
import type { BenchSizes, Figure, Progress, ScalingSizes } from './bench-types';
import { drainWithEngine } from './drain-engine';
import { rawInsertBatch } from './raw-insert';
import { median, nowMs, percentile } from './stats';

/** Messages per `queueBacklog` call: one transaction of 100,000 rows is some 40 MB of server WAL. */
const QUEUE_CHUNK = 100_000;
const FILL_CHUNK = 10_000;
const WARMUP_DRAIN = 10_000;
export const SCALING_DRAIN_TARGET = 0.8;
export const SCALING_COST_TARGET = 1.2;

/** `1000` → `1k`, `1000000` → `1M`: the figures' names. */
export function countLabel(count: number): string {
  if (count >= 1_000_000 && count % 1_000_000 === 0) return `${count / 1_000_000}M`;
  if (count >= 1000 && count % 1000 === 0) return `${count / 1000}k`;
  return String(count);
}

function queueInChunks(world: BenchWorld, deviceId: string, count: number): void {
  for (let done = 0; done < count; done += QUEUE_CHUNK) world.queueBacklog(deviceId, Math.min(QUEUE_CHUNK, count - done), done);
}

async function drainRates(world: BenchWorld, scaling: ScalingSizes, limit: number, progress: Progress): Promise<Array<{ queued: number; eventsPerS: number; drains: number }>> {
  const results = [];
  // An untimed drain first: the first drain of a process pays the JIT's warm-up, which would slow whichever
  // queue size came first (the baseline).
  const warmup = await world.device('SCALE-DRAIN-WARMUP');
  const warmupCount = Math.min(WARMUP_DRAIN, Math.max(scaling.minDrained, scaling.drainQueues[0] ?? 0));
  queueInChunks(world, 'SCALE-DRAIN-WARMUP', warmupCount);
  await drainWithEngine({ account: warmup, storePath: path.join(world.dir, 'SCALE-DRAIN-WARMUP.db'), synchronous: 'FULL', expectedEvents: warmupCount, limit });
  for (const queued of scaling.drainQueues) {
    const drains = Math.max(1, Math.ceil(scaling.minDrained / queued));
    progress(`case 8: drain with ${queued.toLocaleString('en-US')} queued${drains > 1 ? `, ${drains} times` : ''}`);
    const rates: number[] = [];
    for (let i = 0; i < drains; i += 1) {
      const deviceId = `SCALE-DRAIN-${countLabel(queued)}-${i}`;
      const account = await world.device(deviceId);
      queueInChunks(world, deviceId, queued);
      const run = await drainWithEngine({ account, storePath: path.join(world.dir, `${deviceId}.db`), synchronous: 'FULL', expectedEvents: queued, limit });
      rates.push(run.eventsPerS);
    }
    results.push({ queued, eventsPerS: median(rates), drains });
  }
  return results;
}

function benchEvents(first: number, count: number): ToDeviceEvent[] {
  return Array.from({ length: count }, (_, i) => ({ type: BENCH_EVENT_TYPE, sender: `@bench-sender-${(first + i) % 4}:localhost`, content: benchContent(first + i) }));
}

/** Median ms of one `commitBatch` on an empty store and on one with `inboxRows` rows, alternated batch by batch. */
function commitWithFullInbox(world: BenchWorld, scaling: ScalingSizes, sizes: BenchSizes, progress: Progress): { emptyMs: number; fullMs: number } {
  const stores = [openStore(path.join(world.dir, 'scale-commit-empty.db')), openStore(path.join(world.dir, 'scale-commit-full.db'))] as const;
  try {
    progress(`case 8: filling an inbox with ${scaling.inboxRows.toLocaleString('en-US')} rows`);
    for (let first = 0; first < scaling.inboxRows; first += FILL_CHUNK) {
      rawInsertBatch(stores[1], benchEvents(first, Math.min(FILL_CHUNK, scaling.inboxRows - first)), `fill-${first}`, Date.now());
    }
    stores[1].db.pragma('wal_checkpoint(TRUNCATE)');
    progress(`case 8: ${sizes.commitBatches} commits on each inbox, alternated`);
    const committers = stores.map((store) => committer(store));
    const samples: [number[], number[]] = [[], []];
    for (let k = 0; k < sizes.commitBatches; k += 1) {
      const events = benchEvents(scaling.inboxRows + k * sizes.limit, sizes.limit);
      // Alternate which store goes first, so neither always follows the other's fsync.
      for (const which of k % 2 === 0 ? [0, 1] : [1, 0]) samples[which]?.push(committers[which]?.(events, k) ?? Number.NaN);
    }
    return { emptyMs: median(samples[0]), fullMs: median(samples[1]) };
  } finally {
    for (const store of stores) store.close();
  }
}

/** A function that commits one batch on `store` the way the engine does (lease fence, token CAS) and times it. */
function committer(store: ClientStore): (events: ToDeviceEvent[], k: number) => number {
  const lease = tryAcquireLease(store, { key: TO_DEVICE_LEASE_KEY, holder: 'main:1', durationMs: 3_600_000, nowMs: Date.now() });
  if (!lease.acquired) throw new Error('bench: could not take the lease on a fresh store');
  const fence = { key: TO_DEVICE_LEASE_KEY, holder: 'main:1', generation: lease.generation };
  let since: string | null = null;
  return (events, k) => {
    const nextBatch = `batch-${k}`;
    const startedMs = nowMs();
    const result = commitBatch(store, { expectedSince: since, nextBatch, events, process: 'main', pid: 1, nowMs: Date.now(), fence });
    const elapsedMs = nowMs() - startedMs;
    if (result.kind !== 'committed') throw new Error(`bench: commitBatch returned ${result.kind}`);
    since = nextBatch;
    return elapsedMs;
  };
}

/** p50 `sendToDevice` round trip to a target with each device count, the targets alternated request by request. */
async function sendWithManyDevices(world: BenchWorld, scaling: ScalingSizes, progress: Progress): Promise<number[]> {
  progress(`case 8: ${scaling.queuedForOthers.toLocaleString('en-US')} queued for another device; users with ${scaling.deviceCounts.join(', ')} devices`);
  await world.device('SCALE-OTHERS');
  queueInChunks(world, 'SCALE-OTHERS', scaling.queuedForOthers);
  const targets = [];
  for (const devices of scaling.deviceCounts) {
    const user = await world.sender(`bench-scale-${devices}`);
    world.registerDevices(user.userId, Array.from({ length: devices - 1 }, (_, i) => `EXTRA-${i}`));
    targets.push({ userId: user.userId, deviceId: user.deviceId });
  }
  const sender = await world.sender('bench-scale-sender');
  const samples: number[][] = targets.map(() => []);
  for (let i = 0; i < scaling.sendsPerTarget; i += 1) {
    for (let t = 0; t < targets.length; t += 1) {
      const which = (t + i) % targets.length;
      const target = targets[which];
      if (target === undefined) continue;
      const startedMs = nowMs();
      const sent = await sender.client.sendToDevice(BENCH_EVENT_TYPE, `scale-${which}-${i}`, { [target.userId]: { [target.deviceId]: benchContent(i) } });
      if (!sent.ok) throw new Error(`bench: sendToDevice: ${JSON.stringify(sent.error)}`);
      samples[which]?.push(nowMs() - startedMs);
    }
  }
  return samples.map((part) => percentile(part, 50));
}

export async function runScalingCase(world: BenchWorld, sizes: BenchSizes, scaling: ScalingSizes, progress: Progress): Promise<Figure[]> {
  const drains = await drainRates(world, scaling, sizes.limit, progress);
  const commit = commitWithFullInbox(world, scaling, sizes, progress);
  const sends = await sendWithManyDevices(world, scaling, progress);
  const [smallest] = drains;
  const [oneDeviceMs] = sends;
  if (smallest === undefined || oneDeviceMs === undefined) throw new Error('bench: case 8 needs at least one queue size and one device count');
  const drainNote = (drains: number): string => `FULL, limit ${sizes.limit}` + (drains > 1 ? `; median of ${drains} drains, each freshly queued` : '');
  return [
    ...drains.slice(1).map(
      (drain): Figure => ({
        caseNumber: 8, name: `drain, ${countLabel(drain.queued)} queued`, value: drain.eventsPerS, baselineName: `${countLabel(smallest.queued)} queued`,
        baseline: smallest.eventsPerS, unit: 'events/s', better: 'higher', target: { op: '>=', ratio: SCALING_DRAIN_TARGET },
        note: `${drainNote(drain.drains)}; baseline: ${drainNote(smallest.drains)}`,
      }),
    ),
    {
      caseNumber: 8, name: `one batch's commit, inbox of ${countLabel(scaling.inboxRows)}`, value: commit.fullMs, baselineName: 'inbox of 0',
      baseline: commit.emptyMs, unit: 'ms', better: 'lower', target: { op: '<=', ratio: SCALING_COST_TARGET },
      note: `median of ${sizes.commitBatches} batches of ${sizes.limit} each, alternated`,
    },
    ...scaling.deviceCounts.slice(1).map(
      (devices, i): Figure => ({
        caseNumber: 8, name: `sendToDevice p50, ${countLabel(devices)} devices`, value: sends[i + 1] ?? Number.NaN, baselineName: `${countLabel(scaling.deviceCounts[0] ?? 1)} device${scaling.deviceCounts[0] === 1 ? '' : 's'}`,
        baseline: oneDeviceMs, unit: 'ms', better: 'lower', target: { op: '<=', ratio: SCALING_COST_TARGET },
        note: `${scaling.sendsPerTarget} round trips per target, alternated; ${countLabel(scaling.queuedForOthers)} queued for another device`,
      }),
    ),
  ];
}
