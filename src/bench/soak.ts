/**
 * `todevice bench --soak`: a million to-device messages (by default) through the real main sync process and
 * notifier processes, with pushes and room messages, and what that leaves behind: `client.db` and the server's
 * database (sizes, rows per table), main's resident memory, and whether the last messages are handled as fast
 * as the first.
 *
 * Runtime: node (Linux /proc for memory). What runs: the bench world's `todevice serve` process
 * (src/bench/bench-world.ts), the app's own main sync process on one device (src/bench/bench-processes.ts; it
 * runs the engine at `synchronous = FULL`, the `main` consumer, the timeline pass and the store's maintenance on
 * its real clock, exactly as on a desktop), and notifier processes spawned as a push gateway would. The bench
 * process is the sender. Messages go in chunks of 1,000: 999 queued through the homeserver's own queue
 * (`queueBacklog`, the function `sendToDevice` calls, in one transaction), then the chunk's last one sent over
 * HTTP with `sendToDevice`, which wakes main's long poll. A chunk's latency sample is from that send to `main`
 * having handled that message (its `handled` row, read from the bench's own connection every 5 ms), so it
 * covers main's wake-up, the drain of the chunk's 1,000 messages in batches of 100, and its consume pass.
 * Every chunk is sampled, in send order; the targets compare the last tenth with the first.
 *
 * Why it is fair, and what it leaves out: a million HTTP requests would take this 2-core machine over ten
 * minutes on their own (case 6 measures that path: some 1,700 requests/s) and would measure the server's
 * request handling rather than how the stores age; the queued rows are exactly those the requests would have
 * queued, and one request in a thousand still takes the real path and wakes the real long poll. Main drains
 * every message over the real sliding sync path, at the server's batch size. A push every 1/20 of the run
 * starts a real notifier process while the chunks go on (it takes the lease from main, syncs, consumes its
 * cursor with its window and exits), and a room message every 1/100 gives main's timeline pass rooms to page,
 * so every table the store bounds is written. The soak runs faster than a device ever receives messages, so
 * retention by age (a day for the notifier's window) never comes due; the row limits are what bound the
 * store here, as they do on a busy device. Maintenance runs on main's real clock, as shipped.
 *
 * The warm-up (the first 10,000 messages) is the reference for the memory and size targets: by then main's
 * SQLite page cache, the JIT and the store's bounded tables have filled in, which is start-up, not growth.
 * Main's memory before the warm-up is reported too.
 */
import path from 'node:path';
import { MatrixClient } from '../engine/matrix-client';
import { realSleep } from '../engine/timing';
import type { StartedProcess } from '../main/host/process-entries';
import { MAIN_CONSUMER } from '../store/cursors';
import { hasHandledTag } from '../store/handled';
import type { ClientStore } from '../store/open-store';
import type { BenchProcesses, NotifierRun } from './bench-processes';
import { prepareBenchProcesses, residentRssKb } from './bench-processes';
import type { JudgedFigure, Progress } from './bench-types';
import { judge, MIN_SOAK_MESSAGES } from './bench-types';
import { BENCH_EVENT_TYPE, benchContent, startBenchWorld, type BenchWorld } from './bench-world';
import { readServerDbStats, type ServerDbStats } from './server-db-stats';
import { soakFigures, tenthLatencies, type TenthLatencies } from './soak-figures';
import { nowMs, perSecond } from './stats';
import { growthPointOf, type GrowthPoint } from './store-growth';

export const SOAK_WARMUP_MESSAGES = 10_000;
const CHUNK_MESSAGES = 1000;
const PUSHES = 20;
const ROOM_MESSAGES = 100;
const POLL_MS = 5;
const HANDLED_BOUND_MS = 60_000;
const PROGRESS_EVERY_MS = 5000;
const DEVICE_ID = 'SOAK';

/** The store and the server's database at one point of the soak. */
export interface SoakPoint {
  messages: number;
  client: GrowthPoint;
  server: ServerDbStats;
  mainRssKb: number;
}

export interface SoakReport {
  messages: number;
  chunkMessages: number;
  pushes: number;
  roomMessages: number;
  elapsedS: number;
  messagesPerS: number;
  mainRssAtStartKb: number;
  warmup: SoakPoint;
  end: SoakPoint;
  latency: TenthLatencies;
  /** Main's resident set after every tenth of the messages: a leak climbs steadily, a cache levels off. */
  mainRssByTenthKb: Array<{ messages: number; rssKb: number; inboxRows: number }>;
  notifierFailures: string[];
  figures: JudgedFigure[];
}

export async function runSoak(options: { messages: number; progress: Progress }): Promise<SoakReport> {
  const { messages, progress } = options;
  if (!Number.isInteger(messages) || messages < MIN_SOAK_MESSAGES) throw new Error(`soak: --messages must be an integer of at least ${MIN_SOAK_MESSAGES}`);
  const world = await startBenchWorld();
  const processes = await prepareBenchProcesses();
  try {
    return await soakOn(world, processes, messages, progress);
  } finally {
    processes.dispose();
    await world.close();
  }
}

async function waitForHandled(store: ClientStore, tag: string, main: StartedProcess, mainStderr: () => string): Promise<number> {
  const startedMs = nowMs();
  while (!hasHandledTag(store, MAIN_CONSUMER, tag)) {
    if (main.child.exitCode !== null || main.child.signalCode !== null) throw new Error(`soak: the main process exited: ${mainStderr()}`);
    if (nowMs() - startedMs > HANDLED_BOUND_MS) throw new Error(`soak: main did not handle ${tag} within ${HANDLED_BOUND_MS} ms`);
    await realSleep(POLL_MS);
  }
  return nowMs();
}

async function soakOn(world: BenchWorld, processes: BenchProcesses, messages: number, progress: Progress): Promise<SoakReport> {
  const account = await world.device(DEVICE_ID);
  const dir = path.join(world.dir, DEVICE_ID);
  const store = processes.prepareDataDir(dir, account);
  const recipient = new MatrixClient({ baseUrl: account.homeserverUrl, accessToken: account.accessToken });
  const sender = await world.sender('bench-soak-sender');
  const room = await recipient.createRoom({ name: 'bench soak', invite: [sender.userId] });
  if (!room.ok) throw new Error(`soak: createRoom: ${JSON.stringify(room.error)}`);
  const joined = await sender.client.joinRoom(room.value.roomId);
  if (!joined.ok) throw new Error(`soak: joinRoom: ${JSON.stringify(joined.error)}`);
  const main = processes.startMain(dir);
  let stderr = '';
  main.child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-2000)));
  const mainStderr = (): string => stderr.trim();
  const pushEvery = Math.max(CHUNK_MESSAGES, Math.floor(messages / PUSHES / CHUNK_MESSAGES) * CHUNK_MESSAGES);
  const roomEvery = Math.max(CHUNK_MESSAGES, Math.floor(messages / ROOM_MESSAGES / CHUNK_MESSAGES) * CHUNK_MESSAGES);
  const latencyMs: number[] = [];
  const pushToNotificationMs: number[] = [];
  const notifierFailures: string[] = [];
  let notifier: Promise<void> | undefined;
  let pushes = 0;
  let roomMessages = 0;
  let lastEventId: string | undefined;
  const mainRssByTenthKb: SoakReport['mainRssByTenthKb'] = [];
  const tenth = Math.max(CHUNK_MESSAGES, Math.floor(messages / 10 / CHUNK_MESSAGES) * CHUNK_MESSAGES);
  try {
    // Main is up once it handled a first message over the real path (its store open, its first long poll made).
    const send = async (index: number): Promise<string> => {
      const tag = `soak-${index}`;
      const sent = await sender.client.sendToDevice(BENCH_EVENT_TYPE, tag, { [world.recipientUserId]: { [DEVICE_ID]: { ...benchContent(index), tag } } });
      if (!sent.ok) throw new Error(`soak: sendToDevice: ${JSON.stringify(sent.error)}`);
      return tag;
    };
    await waitForHandled(store, await send(-1), main, mainStderr);
    const mainRssAtStartKb = residentRssKb(main.pid);
    let warmup: SoakPoint | undefined;
    const startedMs = nowMs();
    let lastProgressMs = startedMs;
    for (let done = 0; done < messages; ) {
      const count = Math.min(CHUNK_MESSAGES, messages - done);
      if (count > 1) world.queueBacklog(DEVICE_ID, count - 1, done);
      const sentMs = nowMs();
      const tag = await send(done + count - 1);
      latencyMs.push((await waitForHandled(store, tag, main, mainStderr)) - sentMs);
      done += count;
      if (done % roomEvery === 0) {
        const event = await sender.client.sendRoomEvent(room.value.roomId, 'm.room.message', `soak-room-${done}`, { msgtype: 'm.text', body: `soak ${done}` });
        if (!event.ok) throw new Error(`soak: room message: ${JSON.stringify(event.error)}`);
        lastEventId = event.value.eventId;
        roomMessages += 1;
      }
      // A push while the chunks go on: the notifier runs beside main; the next waits for it (one at a time).
      if (done % pushEvery === 0 && lastEventId !== undefined) {
        await notifier;
        pushes += 1;
        notifier = processes.runNotifier(dir, { eventId: lastEventId, roomId: room.value.roomId }).then(
          (run: NotifierRun) => void pushToNotificationMs.push(run.pushToNotificationMs),
          (error: unknown) => void notifierFailures.push(error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error)),
        );
      }
      if (warmup === undefined && done >= SOAK_WARMUP_MESSAGES) warmup = pointAt(store, world, main, done);
      if (done % tenth === 0) mainRssByTenthKb.push({ messages: done, rssKb: residentRssKb(main.pid), inboxRows: inboxRowCount(store) });
      if (nowMs() - lastProgressMs >= PROGRESS_EVERY_MS || done === messages) {
        lastProgressMs = nowMs();
        const rate = perSecond(done, lastProgressMs - startedMs);
        progress(`soak: ${done.toLocaleString('en-US')} of ${messages.toLocaleString('en-US')} messages, ${Math.round(rate).toLocaleString('en-US')}/s, ` +
          `ETA ${Math.round((messages - done) / rate)} s; last chunk ${latencyMs.at(-1)?.toFixed(0) ?? '-'} ms, ` +
          `main RSS ${(residentRssKb(main.pid) / 1024).toFixed(0)} MiB, inbox ${inboxRowCount(store).toLocaleString('en-US')} rows`);
      }
    }
    await notifier;
    const elapsedMs = nowMs() - startedMs;
    const end = pointAt(store, world, main, messages);
    if (warmup === undefined) throw new Error('soak: no warm-up point');
    const figures = soakFigures({
      messages,
      warmupMessages: warmup.messages,
      clientDbBytes: { warmup: warmup.client.fileBytes, end: end.client.fileBytes },
      mainRssKb: { start: mainRssAtStartKb, warmup: warmup.mainRssKb, firstTenth: mainRssByTenthKb[0]?.rssKb ?? Number.NaN, end: end.mainRssKb },
      latencyMs,
      pushToNotificationMs,
    }).map(judge);
    return {
      messages, chunkMessages: CHUNK_MESSAGES, pushes, roomMessages, elapsedS: elapsedMs / 1000, messagesPerS: perSecond(messages, elapsedMs),
      mainRssAtStartKb, warmup, end, latency: tenthLatencies(latencyMs), mainRssByTenthKb, notifierFailures, figures,
    };
  } finally {
    await notifier?.catch(() => undefined);
    await processes.stopMain(main);
    store.close();
  }
}

function inboxRowCount(store: ClientStore): number {
  return (store.statement('SELECT count(*) AS n FROM inbox').get() as { n: number }).n;
}

function pointAt(store: ClientStore, world: BenchWorld, main: StartedProcess, messages: number): SoakPoint {
  return { messages, client: growthPointOf(store, messages), server: readServerDbStats(world.serverDbPath), mainRssKb: residentRssKb(main.pid) };
}
