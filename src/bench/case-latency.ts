/**
 * Case 2, live latency: from the start of a `sendToDevice` request to the main process's durable commit of
 * that message, while its engine sits in a 30 s long poll (`run`, `explicit-lease`, store at FULL), p50 and p99.
 *
 * Baseline: one bare HTTP round trip to the same server (`GET /_matrix/client/versions` with the same fetch),
 * timed just before each sample under the same conditions (the long poll open). A message cannot reach a
 * client in less than a round trip, and the path also holds two durable commits (the server's and ours), so
 * the target (p50 within 3×) asks for no wasted round trips or waits. The `sendToDevice` round trip alone is
 * reported too, for scale. The clock stops when the engine reports the commit (its `onEvent` hook).
 *
 * Runtime: node.
 */
import path from 'node:path';
import { MatrixClient } from '../engine/matrix-client';
import { SyncEngine } from '../engine/sync-engine';
import { realSleep, seededRandom } from '../engine/timing';
import { systemClock } from '../shared/clock';
import { openStore } from '../store/open-store';
import { BENCH_EVENT_TYPE, benchContent, type BenchWorld } from './bench-world';
import type { BenchSizes, Figure, Progress } from './bench-types';
import { nowMs, percentile } from './stats';

const SETTLE_MS = 20;

export async function runLatencyCase(world: BenchWorld, sizes: BenchSizes, progress: Progress): Promise<Figure[]> {
  progress(`case 2: ${sizes.liveSamples} live messages during a long poll`);
  const account = await world.device('LIVE');
  const sender = await world.sender('bench-live-sender');
  const bare = new MatrixClient({ baseUrl: world.server.url });
  const store = openStore(path.join(world.dir, 'live.db'), { synchronous: 'FULL' });
  let onCommit: ((atMs: number) => void) | undefined;
  const engine = new SyncEngine({
    store,
    client: new MatrixClient({ baseUrl: account.homeserverUrl, accessToken: account.accessToken }),
    clock: systemClock,
    sleep: realSleep,
    random: seededRandom(2),
    strategy: 'explicit-lease',
    processName: 'main',
    pid: process.pid,
    longPollTimeoutMs: 30_000,
    onEvent: (event) => {
      if (event.kind === 'commit') onCommit?.(nowMs());
    },
  });
  const stop = new AbortController();
  const running = engine.run(stop.signal);
  const latencies: number[] = [];
  const bareTrips: number[] = [];
  const sendTrips: number[] = [];
  try {
    await realSleep(200);
    for (let i = 0; i < sizes.liveSamples; i += 1) {
      await realSleep(SETTLE_MS);
      const bareStartMs = nowMs();
      const versions = await fetch(`${bare.baseUrl}/_matrix/client/versions`);
      await versions.text();
      bareTrips.push(nowMs() - bareStartMs);
      await realSleep(SETTLE_MS);
      const committed = new Promise<number>((resolve) => (onCommit = resolve));
      const startMs = nowMs();
      const sent = await sender.client.sendToDevice(BENCH_EVENT_TYPE, `live-${i}`, { [world.recipientUserId]: { [account.deviceId]: benchContent(i) } });
      sendTrips.push(nowMs() - startMs);
      if (!sent.ok) throw new Error(`bench: live send failed: ${JSON.stringify(sent.error)}`);
      const bound = new AbortController();
      const commitMs = await Promise.race([committed, realSleep(10_000, bound.signal).then(() => Number.NaN, () => Number.NaN)]);
      bound.abort();
      if (Number.isNaN(commitMs)) throw new Error(`bench: live message ${i} was not committed within 10 s`);
      latencies.push(commitMs - startMs);
    }
  } finally {
    stop.abort();
    await running;
    store.close();
  }
  const note = `${sizes.liveSamples} messages, one at a time`;
  return [
    {
      caseNumber: 2, name: 'live send→commit p50', value: percentile(latencies, 50), baselineName: 'bare HTTP round trip p50',
      baseline: percentile(bareTrips, 50), unit: 'ms', better: 'lower', target: { op: '<=', ratio: 3 }, note,
    },
    {
      caseNumber: 2, name: 'live send→commit p99', value: percentile(latencies, 99), baselineName: 'bare HTTP round trip p99',
      baseline: percentile(bareTrips, 99), unit: 'ms', better: 'lower', note,
    },
    {
      caseNumber: 2, name: 'live send→commit p50 vs send', value: percentile(latencies, 50), baselineName: 'sendToDevice round trip p50',
      baseline: percentile(sendTrips, 50), unit: 'ms', better: 'lower', note: 'for scale: the send itself is a durable server commit',
    },
  ];
}
