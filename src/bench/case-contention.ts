/**
 * Case 4, contention: how fast the main sync process drains a backlog while a stream of notifier processes
 * (one spawned `NOTIFIER_INTERVAL_MS` after the previous one exited, until the backlog is drained; each takes
 * the lease from main, syncs until caught up, consumes its cursor and exits) shares the device and the SQLite
 * file with it, against the main process alone. Both are real processes; throughput is the backlog size over
 * the time from the wake-up message to the last row in the inbox (read from the bench's own connection every
 * 10 ms; WAL readers never block writers). The two conditions run back to back in alternated rounds (alone,
 * stream; then stream, alone; ...), each on a fresh device and data directory, and the figure is the round
 * whose ratio is the median (stats.ts `medianRound`): a drain of 20,000 takes a few seconds, and single runs of
 * this comparison moved between 0.7× and 1.1× on this shared machine.
 *
 * Case 6b, resident memory, is read here too: the peak RSS of the main process after its drain and of every
 * notifier while alive, against a bare `node` process started the same way (an empty script), which is the
 * floor any Node process pays.
 *
 * Runtime: node (Linux /proc for memory).
 */
import path from 'node:path';
import { MatrixClient } from '../engine/matrix-client';
import { realSleep } from '../engine/timing';
import { inboxStats } from '../store/inbox';
import type { ClientStore } from '../store/open-store';
import { BENCH_EVENT_TYPE, benchContent, type BenchWorld } from './bench-world';
import type { BenchProcesses, NotifierRun } from './bench-processes';
import { bareNodePeakRssKb, peakRssKb } from './bench-processes';
import type { BenchSizes, Figure, Progress } from './bench-types';
import { median, medianRound, nowMs, perSecond } from './stats';

const NOTIFIER_INTERVAL_MS = 250;
const MAX_NOTIFIERS = 200;
const DRAIN_BOUND_MS = 300_000;

interface ContentionRun {
  eventsPerS: number;
  mainPeakRssKb: number;
  notifierRuns: NotifierRun[];
  /** Notifiers that failed (their error), reported rather than fatal: that is a finding, not a bench bug. */
  notifierFailures: string[];
}

async function waitForCount(store: ClientStore, count: number, onTick: () => void): Promise<number> {
  for (let waitedMs = 0; waitedMs < DRAIN_BOUND_MS; waitedMs += 10) {
    // Rows are numbered from 1 on a fresh device; the main process compacts what it consumed, so the count of
    // rows left is no measure of what arrived.
    if (inboxStats(store).lastSeq >= count) return nowMs();
    onTick();
    await realSleep(10);
  }
  throw new Error(`bench: contention drain did not reach ${count} rows within ${DRAIN_BOUND_MS} ms`);
}

async function drainWithMain(
  world: BenchWorld,
  sizes: BenchSizes,
  processes: BenchProcesses,
  withNotifiers: boolean,
  round: number,
): Promise<ContentionRun> {
  const deviceId = `${withNotifiers ? 'CONTEND-STREAM' : 'CONTEND-ALONE'}-${round}`;
  const account = await world.device(deviceId);
  const dir = path.join(world.dir, deviceId);
  const store = processes.prepareDataDir(dir, account);
  const recipient = new MatrixClient({ baseUrl: account.homeserverUrl, accessToken: account.accessToken });
  const room = await recipient.createRoom({ name: 'bench contention' });
  if (!room.ok) throw new Error(`bench: createRoom: ${JSON.stringify(room.error)}`);
  const event = await recipient.sendRoomEvent(room.value.roomId, 'm.room.message', `push-${deviceId}`, { msgtype: 'm.text', body: 'bench push' });
  if (!event.ok) throw new Error(`bench: room event: ${JSON.stringify(event.error)}`);
  const sender = await world.sender(`bench-${deviceId.toLowerCase()}-sender`);
  const main = processes.startMain(dir);
  const notifiers: Array<Promise<NotifierRun | string>> = [];
  let running = 0;
  try {
    await realSleep(1000);
    world.queueBacklog(deviceId, sizes.contentionBacklog - 1);
    const startedMs = nowMs();
    // The bulk-queued backlog wakes no long poll; one real message does, and is the last of the backlog.
    const wake = await sender.client.sendToDevice(BENCH_EVENT_TYPE, `wake-${deviceId}`, { [world.recipientUserId]: { [deviceId]: benchContent(sizes.contentionBacklog) } });
    if (!wake.ok) throw new Error(`bench: wake send: ${JSON.stringify(wake.error)}`);
    let lastSpawnMs = Number.NEGATIVE_INFINITY;
    const spawn = (): void => {
      if (!withNotifiers || running > 0 || notifiers.length >= MAX_NOTIFIERS || nowMs() - lastSpawnMs < NOTIFIER_INTERVAL_MS) return;
      running += 1;
      const run = processes.runNotifier(dir, { eventId: event.value.eventId, roomId: room.value.roomId });
      notifiers.push(
        run
          .catch((error: unknown) => (error instanceof Error ? error.message.split('\n')[0] ?? error.message : String(error)))
          .finally(() => {
            running -= 1;
            lastSpawnMs = nowMs();
          }),
      );
    };
    const endedMs = await waitForCount(store, sizes.contentionBacklog, spawn);
    const mainPeakRssKb = peakRssKb(main.pid);
    const settled = await Promise.all(notifiers);
    const notifierRuns = settled.filter((run): run is NotifierRun => typeof run !== 'string');
    const notifierFailures = settled.filter((run): run is string => typeof run === 'string');
    return { eventsPerS: perSecond(sizes.contentionBacklog, endedMs - startedMs), mainPeakRssKb, notifierRuns, notifierFailures };
  } finally {
    await Promise.allSettled(notifiers);
    await processes.stopMain(main);
    store.close();
  }
}

export async function runContentionCase(world: BenchWorld, sizes: BenchSizes, processes: BenchProcesses, progress: Progress): Promise<Figure[]> {
  const alone: ContentionRun[] = [];
  const stream: ContentionRun[] = [];
  for (let round = 0; round < sizes.rounds; round += 1) {
    const order = round % 2 === 0 ? [false, true] : [true, false];
    for (const withNotifiers of order) {
      progress(`case 4: round ${round + 1} of ${sizes.rounds}: ${withNotifiers ? 'main process and a stream of notifiers drain' : 'main process alone drains'} ${sizes.contentionBacklog}`);
      (withNotifiers ? stream : alone).push(await drainWithMain(world, sizes, processes, withNotifiers, round));
    }
  }
  const bareKb = await bareNodePeakRssKb(world.dir);
  const notifierRuns = stream.flatMap((run) => run.notifierRuns);
  const notifierFailures = stream.flatMap((run) => run.notifierFailures);
  const notifierKb = median(notifierRuns.map((run) => run.peakRssKb));
  const pair = medianRound(stream.map((run) => run.eventsPerS), alone.map((run) => run.eventsPerS));
  return [
    {
      caseNumber: 4, name: 'drain, main + notifier stream', value: pair.value, baselineName: 'main process alone',
      baseline: pair.baseline, unit: 'events/s', better: 'higher', target: { op: '>=', ratio: 0.8 },
      note: `${sizes.contentionBacklog} messages; round ${pair.round + 1} of ${sizes.rounds}, the median ratio; ${notifierRuns.length} notifiers in all, one at a time, ` +
        `${NOTIFIER_INTERVAL_MS} ms apart` + (notifierFailures.length === 0 ? '' : `; ${notifierFailures.length} notifiers FAILED: ${notifierFailures[0]}`),
      rounds: { values: stream.map((run) => run.eventsPerS), baselines: alone.map((run) => run.eventsPerS) },
    },
    {
      caseNumber: 6, name: 'main process peak RSS', value: median(alone.map((run) => run.mainPeakRssKb)) / 1024, baselineName: 'bare node process',
      baseline: bareKb / 1024, unit: 'MiB', better: 'lower', note: `after draining ${sizes.contentionBacklog} alone, median of ${sizes.rounds}; info, no target`,
    },
    {
      caseNumber: 6, name: 'notifier peak RSS (median)', value: notifierKb / 1024, baselineName: 'bare node process',
      baseline: bareKb / 1024, unit: 'MiB', better: 'lower', target: { op: '<=', ratio: 1.5 },
      note: `${notifierRuns.length} notifiers; a phone's notification extension gets about 24 MB in all, so a lean notifier is part of the point`,
    },
  ];
}
