/**
 * Case 2, live latency: from the start of a `sendToDevice` request to the main process's durable commit of
 * that message, while its engine sits in a 30 s long poll (`run`, `explicit-lease`, store at FULL), p50 and p99.
 *
 * The arrangement is a real deployment's: the homeserver is its own process (bench-world.ts), the engine is
 * its own process (src/bench/live-engine, built with the main sync process's own `createProcessEngine`), and
 * the sender is the bench process. When all three shared one event loop, the server's fsyncs, the sender's
 * reply and the client's commit queued behind one another, which no deployment does. The clock starts in the
 * bench process before the request and stops when the engine reports the commit (its `onEvent` hook), both
 * read on the machine's monotonic clock (see live-engine-protocol.ts).
 *
 * Baseline: one bare HTTP round trip from the bench process to the same server process (`GET
 * /_matrix/client/versions` over `nodeHttpFetch`, the transport both the sender's and the engine's
 * `MatrixClient` use), timed just before each sample under the same conditions (the long poll open, the same settling pause before each). A message cannot reach a client in less
 * than a round trip, and the path also holds durable commits (the server's and ours), so the target (p50 within
 * 3×) asks for no wasted round trips or waits. The `sendToDevice` round trip alone is reported too, for scale.
 *
 * Runtime: node.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeHttpFetch } from '../engine/node-http-fetch';
import { realSleep } from '../engine/timing';
import type { Account } from '../store/account';
import { BENCH_EVENT_TYPE, benchContent, type BenchWorld } from './bench-world';
import type { BenchSizes, Figure, Progress } from './bench-types';
import { isLiveEngineMessage, LIVE_ENGINE_ACCOUNT_ENV } from './live-engine-protocol';
import { nowMs, percentile } from './stats';

const SETTLE_MS = 20;
const COMMIT_BOUND_MS = 10_000;
const START_BOUND_MS = 30_000;
const entryFile = fileURLToPath(new URL('./live-engine/index.ts', import.meta.url));

interface LiveEngine {
  /** Resolves with the monotonic time (ns) of the next commit that holds at least one event. */
  nextCommitNs(): Promise<bigint>;
  stop(): Promise<void>;
}

/** Starts the engine process and waits (bounded) until its first long poll is open. */
async function startLiveEngine(account: Account, storePath: string): Promise<LiveEngine> {
  // Kill points are read from the environment; the bench's own must not arm this process.
  const { TODEVICE_KILL_AT: _at, TODEVICE_KILL_PROCESS: _process, ...env } = process.env;
  const child = fork(entryFile, ['--store', storePath], {
    execArgv: ['--import', import.meta.resolve('tsx')],
    env: { ...env, [LIVE_ENGINE_ACCOUNT_ENV]: JSON.stringify(account) },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-2000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let failure: string | undefined;
  let waiting: ((atNs: bigint) => void) | undefined;
  let onReady: (() => void) | undefined;
  child.on('message', (message: unknown) => {
    if (!isLiveEngineMessage(message)) return;
    if (message.kind === 'ready') onReady?.();
    if (message.kind === 'failed') failure = message.error;
    if (message.kind === 'commit' && message.eventCount > 0) waiting?.(BigInt(message.atNs));
  });
  const gone = exited.then(() => Promise.reject(new Error(`bench: live engine exited: ${failure ?? stderr}`)));
  // Raced below; the exit after a clean stop must not count as an unhandled rejection.
  gone.catch(() => undefined);
  const bounded = <T>(promise: Promise<T>, boundMs: number, what: string): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`bench: live engine: ${what} within ${boundMs} ms (${failure ?? stderr})`)), boundMs);
    });
    return Promise.race([promise, bound, gone]).finally(() => clearTimeout(timer));
  };
  await bounded(new Promise<void>((resolve) => (onReady = resolve)), START_BOUND_MS, 'no long poll');
  return {
    nextCommitNs: () => bounded(new Promise<bigint>((resolve) => (waiting = resolve)), COMMIT_BOUND_MS, 'no commit'),
    async stop() {
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), COMMIT_BOUND_MS)));
      if ((await Promise.race([exited, late])) === 'late') child.kill('SIGKILL');
      clearTimeout(timer);
      await exited;
    },
  };
}

export async function runLatencyCase(world: BenchWorld, sizes: BenchSizes, progress: Progress): Promise<Figure[]> {
  progress(`case 2: ${sizes.liveSamples} live messages during a long poll`);
  const account = await world.device('LIVE');
  const sender = await world.sender('bench-live-sender');
  const engine = await startLiveEngine(account, path.join(world.dir, 'live.db'));
  const latencies: number[] = [];
  const bareTrips: number[] = [];
  const sendTrips: number[] = [];
  try {
    for (let i = 0; i < sizes.liveSamples; i += 1) {
      await realSleep(SETTLE_MS);
      const bareStartMs = nowMs();
      const versions = await nodeHttpFetch(`${world.server.url}/_matrix/client/versions`, { method: 'GET', headers: { accept: 'application/json' } });
      await versions.text();
      bareTrips.push(nowMs() - bareStartMs);
      await realSleep(SETTLE_MS);
      const committed = engine.nextCommitNs();
      const startNs = process.hrtime.bigint();
      const startMs = nowMs();
      const sent = await sender.client.sendToDevice(BENCH_EVENT_TYPE, `live-${i}`, { [world.recipientUserId]: { [account.deviceId]: benchContent(i) } });
      sendTrips.push(nowMs() - startMs);
      if (!sent.ok) throw new Error(`bench: live send failed: ${JSON.stringify(sent.error)}`);
      latencies.push(Number((await committed) - startNs) / 1e6);
    }
  } finally {
    await engine.stop();
  }
  const note = `${sizes.liveSamples} messages, one at a time; engine, server and sender in 3 processes`;
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
