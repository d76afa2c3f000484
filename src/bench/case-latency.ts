/**
 * Case 2, live latency: from the start of a `sendToDevice` request to the main process's durable commit of
 * that message, while its engine sits in a 30 s long poll (`run`, `explicit-lease`, store at FULL), p50 and p99.
 *
 * The arrangement is a real deployment's: the homeserver is its own process (bench-world.ts), the engine is
 * its own process (src/bench/live-engine, built with the main sync process's own `createProcessEngine` and
 * started with its V8 options), and the sender is the bench process. When all three shared one event loop, the
 * server's fsyncs, the sender's reply and the client's commit queued behind one another, which no deployment
 * does. The clock starts in the
 * bench process before the request and stops when the engine reports the commit (its `onEvent` hook), both
 * read on the machine's monotonic clock (see live-engine-protocol.ts).
 *
 * Baseline: one bare HTTP round trip from the bench process to the same server process (`GET
 * /_matrix/client/versions` over `nodeHttpFetch`, the transport both the sender's and the engine's
 * `MatrixClient` use), timed just before each sample under the same conditions (the long poll open, the same
 * settling pause before each). A message cannot reach a client in less than a round trip, and the path also
 * holds two durable commits (the server's and ours), so the target (p50 within 3×) asks for no wasted round
 * trips or waits. The `sendToDevice` round trip alone is reported too, for scale.
 *
 * The floor: the same three processes' path reduced to two fsyncs and its hops (src/bench/latency-floor), timed
 * the same way against its own bare round trip, sample by sample between ours. On a machine whose fsync costs
 * about a round trip, as on the 2-core development VM, that floor alone is some 2.5 round trips; the figure
 * says how much of the target the physics leaves to the protocol. Ours against the floor has a target of its
 * own, 1.25×: what the protocol adds to two fsyncs and the hops, whatever the disk costs that day.
 *
 * Runtime: node.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeHttpFetch } from '../engine/node-http-fetch';
import { realSleep } from '../engine/timing';
import { SYNC_PROCESS_V8_FLAGS } from '../main/host/sync-process-launcher';
import { BENCH_EVENT_TYPE, benchContent, type BenchWorld } from './bench-world';
import type { BenchSizes, Figure, Progress } from './bench-types';
import { FLOOR_FIGURE, LIVE_FIGURE } from './bench-warnings';
import { startCommitReporter, startPortServer, type CommitReporter } from './commit-reporter';
import { LIVE_ENGINE_ACCOUNT_ENV } from './live-engine-protocol';
import { nowMs, percentile } from './stats';

const SETTLE_MS = 20;
const liveEngineEntry = fileURLToPath(new URL('./live-engine/index.ts', import.meta.url));
const floorEntry = fileURLToPath(new URL('./latency-floor/index.ts', import.meta.url));

interface Samples {
  bare: number[];
  live: number[];
}

async function bareRoundTripMs(url: string): Promise<number> {
  const startMs = nowMs();
  const response = await nodeHttpFetch(url, { method: 'GET', headers: { accept: 'application/json' } });
  await response.text();
  return nowMs() - startMs;
}

/** Milliseconds from before `send` to the reporter's commit of what it sent. */
async function sendToCommitMs(reporter: CommitReporter, send: () => Promise<void>): Promise<number> {
  const committed = reporter.nextCommitNs();
  const startNs = process.hrtime.bigint();
  await send();
  return Number((await committed) - startNs) / 1e6;
}

export async function runLatencyCase(world: BenchWorld, sizes: BenchSizes, progress: Progress): Promise<Figure[]> {
  progress(`case 2: ${sizes.liveSamples} live messages during a long poll, each next to one through the two-fsync floor`);
  const account = await world.device('LIVE');
  const sender = await world.sender('bench-live-sender');
  // Started with the main sync process's V8 options, as every path that starts that process starts it.
  const engine = await startCommitReporter('live engine', liveEngineEntry, ['--store', path.join(world.dir, 'live.db')], {
    env: { [LIVE_ENGINE_ACCOUNT_ENV]: JSON.stringify(account) },
    v8Flags: SYNC_PROCESS_V8_FLAGS,
  });
  const floorServer = await startPortServer('floor server', floorEntry, ['--role', 'server', '--store', path.join(world.dir, 'floor-server.db')]);
  const floorUrl = `http://127.0.0.1:${floorServer.port}`;
  const floorClient = await startCommitReporter('floor client', floorEntry, ['--role', 'client', '--port', String(floorServer.port), '--store', path.join(world.dir, 'floor-client.db')]);
  const ours: Samples = { bare: [], live: [] };
  const floor: Samples = { bare: [], live: [] };
  const sendTrips: number[] = [];
  try {
    for (let i = 0; i < sizes.liveSamples; i += 1) {
      await realSleep(SETTLE_MS);
      ours.bare.push(await bareRoundTripMs(`${world.server.url}/_matrix/client/versions`));
      await realSleep(SETTLE_MS);
      ours.live.push(
        await sendToCommitMs(engine, async () => {
          const startMs = nowMs();
          const sent = await sender.client.sendToDevice(BENCH_EVENT_TYPE, `live-${i}`, { [world.recipientUserId]: { [account.deviceId]: benchContent(i) } });
          sendTrips.push(nowMs() - startMs);
          if (!sent.ok) throw new Error(`bench: live send failed: ${JSON.stringify(sent.error)}`);
        }),
      );
      await realSleep(SETTLE_MS);
      floor.bare.push(await bareRoundTripMs(`${floorUrl}/bare`));
      await realSleep(SETTLE_MS);
      floor.live.push(
        await sendToCommitMs(floorClient, async () => {
          const response = await nodeHttpFetch(`${floorUrl}/send`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(benchContent(i)) });
          await response.text();
        }),
      );
    }
  } finally {
    await Promise.all([engine.stop(), floorClient.stop()]);
    await floorServer.stop();
  }
  return latencyFigures(sizes, ours, floor, sendTrips);
}

function latencyFigures(sizes: BenchSizes, ours: Samples, floor: Samples, sendTrips: number[]): Figure[] {
  const note = `${sizes.liveSamples} messages, one at a time; engine, server and sender in 3 processes`;
  const p50 = (samples: number[]): number => percentile(samples, 50);
  return [
    {
      caseNumber: 2, name: LIVE_FIGURE, value: p50(ours.live), baselineName: 'bare HTTP round trip p50',
      baseline: p50(ours.bare), unit: 'ms', better: 'lower', target: { op: '<=', ratio: 3 }, note,
    },
    {
      caseNumber: 2, name: 'live send→commit p99', value: percentile(ours.live, 99), baselineName: 'bare HTTP round trip p99',
      baseline: percentile(ours.bare, 99), unit: 'ms', better: 'lower', note,
    },
    {
      caseNumber: 2, name: 'live send→commit p50 vs send', value: p50(ours.live), baselineName: 'sendToDevice round trip p50',
      baseline: p50(sendTrips), unit: 'ms', better: 'lower', note: 'for scale: the send itself is a durable server commit',
    },
    {
      caseNumber: 2, name: FLOOR_FIGURE, value: p50(floor.live), baselineName: 'its bare HTTP round trip p50',
      baseline: p50(floor.bare), unit: 'ms', better: 'lower',
      note: 'the physics of the path: raw node:http and one SQLite FULL commit on each side, no protocol (latency-floor)',
    },
    {
      caseNumber: 2, name: 'live send→commit p50 vs the floor', value: p50(ours.live), baselineName: 'two-fsync floor send→commit p50',
      baseline: p50(floor.live), unit: 'ms', better: 'lower', target: { op: '<=', ratio: 1.25 },
      note: 'what the protocol, its checks and its bookkeeping add to the physics',
    },
  ];
}
