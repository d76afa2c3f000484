/**
 * Case 3, notifier handoff: from a push (the moment the notifier process is spawned, as the push gateway does)
 * to the notifier holding its to-device data (its notification report: the pushed event is a Megolm
 * `m.room.encrypted` message and the notifier decrypts it with the room key that came by to-device) while the
 * main sync process sits in a 30 s long poll holding the lease, against the same with no main process running.
 * Unable-to-decrypt notifications are counted and reported per condition (as is main's timeline, when it runs):
 * the key is sent before the message, so every one of them would be a lost key.
 *
 * Both conditions run the real processes (src/main/sync-process and src/notifier, started as the race harness
 * starts them), so process start-up is in both and the difference is the lease handoff: the notifier asks for
 * the lease through the database and the long-polling holder must give it up (DESIGN.md §4.4) instead of the
 * notifier waiting out the long poll. With main running, main commits the to-device message before the push
 * (as on a phone, the key arrives first); without it the notifier fetches the message itself.
 *
 * The handoff floor: after every notifier, on the same store, a bare process started the same way that opens the
 * store, makes one request and exits (src/bench/handoff-floor): what any push process costs before it does
 * anything of its own. The main-long-polling p99 is judged against its p99.
 *
 * The lease handoff is also timed alone, without process start-up, with the store-change hints and with polls
 * alone (lease-handoff.ts).
 *
 * Every notifier's peak resident memory is read too, against a bare `node` process (the same baseline as case
 * 6's): these notifiers decrypt an encrypted push, so they load libolm, where case 6's handle a plaintext one.
 *
 * The two conditions alternate in rounds (alone, with main; then with main, alone; ...), each round on a fresh
 * device, and the percentiles are taken over the samples of all rounds, so a disturbance of the shared machine
 * lands on both conditions rather than on one.
 *
 * Runtime: node.
 */
import path from 'node:path';
import { inboxHasDeliveryTag } from '../store/inbox';
import type { ClientStore } from '../store/open-store';
import { describeOlmSenderError, OlmMachineSender } from '../crypto/olm-machine-sender';
import { timelineEntriesFor } from '../store/timeline';
import { MatrixClient } from '../engine/matrix-client';
import { realSleep } from '../engine/timing';
import type { BenchWorld } from './bench-world';
import type { BenchSizes, Figure, Progress } from './bench-types';
import { bareNodePeakRssKb, type BenchProcesses } from './bench-processes';
import { leaseHandoffFigures } from './lease-handoff';
import { median, percentile } from './stats';
import { publishDeviceKeysAtFirstStart } from '../harness/device-first-start';

const MAIN_SETTLE_MS = 300;

async function waitForTag(store: ClientStore, tag: string, boundMs: number): Promise<void> {
  for (let waitedMs = 0; waitedMs < boundMs; waitedMs += 10) {
    if (inboxHasDeliveryTag(store, tag)) return;
    await realSleep(10);
  }
  throw new Error(`bench: ${tag} did not reach the inbox within ${boundMs} ms`);
}

/** One condition's samples and what its notifications (and main's timeline, when main ran) could decrypt. */
interface HandoffRun {
  samples: number[];
  /** The handoff floor, run right after each notifier on the same store. */
  floorSamples: number[];
  notifications: number;
  unableToDecrypt: number;
  /** Each notifier's peak resident memory: every push here is an encrypted message, so each one loads libolm. */
  notifierPeakRssKb: number[];
  /** Main's timeline entries for this run's messages, when main ran: how many were paged, how many undecryptable. */
  timeline: { paged: number; unableToDecrypt: number } | undefined;
}

async function handoffSamples(
  world: BenchWorld,
  count: number,
  processes: BenchProcesses,
  withMain: boolean,
  round: number,
): Promise<HandoffRun> {
  const deviceId = `${withMain ? 'HANDOFF-MAIN' : 'HANDOFF-ALONE'}-${round}`;
  const account = await world.device(deviceId);
  const dir = path.join(world.dir, deviceId);
  const store = processes.prepareDataDir(dir, account);
  // The device's first start: with no main process, nothing else would publish its keys before the first share.
  await publishDeviceKeysAtFirstStart(store, account);
  const recipient = new MatrixClient({ baseUrl: account.homeserverUrl, accessToken: account.accessToken });
  const sender = await world.sender(`bench-${deviceId.toLowerCase()}-sender`);
  const room = await recipient.createRoom({ name: 'bench handoff', invite: [sender.userId] });
  if (!room.ok) throw new Error(`bench: createRoom: ${JSON.stringify(room.error)}`);
  const joined = await sender.client.joinRoom(room.value.roomId);
  if (!joined.ok) throw new Error(`bench: joinRoom: ${JSON.stringify(joined.error)}`);
  const sharing = await OlmMachineSender.create({ userId: sender.userId, deviceId: sender.deviceId, transport: sender.client });
  if (!sharing.ok) throw new Error(`bench: key sharing: ${describeOlmSenderError(sharing.error, (error) => JSON.stringify(error))}`);
  const recipientDevice = { userId: world.recipientUserId, deviceId };
  const main = withMain ? processes.startMain(dir) : undefined;
  const run: HandoffRun = { samples: [], floorSamples: [], notifications: 0, unableToDecrypt: 0, notifierPeakRssKb: [], timeline: undefined };
  const eventIds: string[] = [];
  try {
    if (main !== undefined) await realSleep(1000);
    for (let i = 0; i < count; i += 1) {
      // As the demo sender and the race harness send: a new Megolm session per message, its key first.
      const content = { msgtype: 'm.text', body: `bench push ${i}` };
      const message = await sharing.value.encryptRoomMessage(room.value.roomId, recipientDevice, 'm.room.message', content);
      if (!message.ok) throw new Error(`bench: handoff key: ${describeOlmSenderError(message.error, (error) => JSON.stringify(error))}`);
      const tag = message.value.keyTag;
      if (tag === null) throw new Error('bench: every handoff message must share a new session');
      if (main !== undefined) {
        await waitForTag(store, tag, 10_000);
        await realSleep(MAIN_SETTLE_MS);
      }
      const event = await sender.client.sendRoomEvent(room.value.roomId, message.value.type, `push-${i}`, message.value.content);
      if (!event.ok) throw new Error(`bench: room event: ${JSON.stringify(event.error)}`);
      eventIds.push(event.value.eventId);
      const notified = await processes.runNotifier(dir, { eventId: event.value.eventId, roomId: room.value.roomId });
      run.notifications += 1;
      if (notified.notification.outcome === 'unable-to-decrypt') run.unableToDecrypt += 1;
      else if (notified.notification.dataMissing) throw new Error(`bench: notifier ${i} (${deviceId}): ${notified.notification.body}`);
      run.samples.push(notified.pushToNotificationMs);
      run.notifierPeakRssKb.push(notified.peakRssKb);
      run.floorSamples.push(await processes.runHandoffFloor(dir, account.homeserverUrl));
    }
  } finally {
    sharing.value.close();
    if (main !== undefined) {
      // Stopping main runs its last timeline pass; the store holds every room of this user, so count ours only.
      await processes.stopMain(main);
      const entries = [...timelineEntriesFor(store, eventIds).values()];
      run.timeline = { paged: entries.length, unableToDecrypt: entries.filter((entry) => entry.decryptedAtMs === null).length };
    }
    store.close();
  }
  return run;
}

/** Unable-to-decrypt counts as figures: the count against how many there were, so the ratio is the share. */
function decryptionFigures(withMain: readonly HandoffRun[], alone: readonly HandoffRun[]): Figure[] {
  const sum = (runs: readonly HandoffRun[], pick: (run: HandoffRun) => number): number => runs.reduce((total, run) => total + pick(run), 0);
  const timelines = withMain.flatMap((run) => (run.timeline === undefined ? [] : [run.timeline]));
  const note = 'every key is sent before its message, so each unable-to-decrypt is a key that was lost';
  return [
    {
      caseNumber: 3, name: 'handoff notifications UTD, main long-polling', value: sum(withMain, (r) => r.unableToDecrypt),
      baselineName: 'notifications shown', baseline: sum(withMain, (r) => r.notifications), unit: 'notifications', better: 'lower', note,
    },
    {
      caseNumber: 3, name: 'handoff notifications UTD, no main process', value: sum(alone, (r) => r.unableToDecrypt),
      baselineName: 'notifications shown', baseline: sum(alone, (r) => r.notifications), unit: 'notifications', better: 'lower', note,
    },
    {
      caseNumber: 3, name: "handoff main's timeline UTD", value: timelines.reduce((total, t) => total + t.unableToDecrypt, 0),
      baselineName: 'encrypted messages paged', baseline: timelines.reduce((total, t) => total + t.paged, 0), unit: 'messages', better: 'lower', note,
    },
  ];
}

export async function runHandoffCase(
  world: BenchWorld,
  sizes: BenchSizes,
  processes: BenchProcesses,
  progress: Progress,
): Promise<Figure[]> {
  const perRound = Math.max(1, Math.round(sizes.handoffSamples / sizes.rounds));
  const alone: HandoffRun[] = [];
  const withMain: HandoffRun[] = [];
  for (let round = 0; round < sizes.rounds; round += 1) {
    const order = round % 2 === 0 ? [false, true] : [true, false];
    for (const mainRunning of order) {
      progress(`case 3: round ${round + 1} of ${sizes.rounds}: ${perRound} notifier runs ${mainRunning ? 'while main long-polls' : 'with no main process'}`);
      (mainRunning ? withMain : alone).push(await handoffSamples(world, perRound, processes, mainRunning, round));
    }
  }
  const withMainMs = withMain.flatMap((r) => r.samples);
  const aloneMs = alone.flatMap((r) => r.samples);
  const floorMs = [...withMain, ...alone].flatMap((r) => r.floorSamples);
  const note = `${withMainMs.length} real notifier processes per condition, ${sizes.rounds} alternated rounds`;
  const notifierKb = [...withMain, ...alone].flatMap((r) => r.notifierPeakRssKb);
  const bareKb = await bareNodePeakRssKb(world.dir);
  progress(`case 3: ${sizes.handoffSamples} lease handoffs between two engines, with store-change hints and with polls alone`);
  const leaseHandoff = await leaseHandoffFigures(world, sizes.handoffSamples, sizes.rounds);
  return [
    {
      caseNumber: 3, name: 'handoff push→data p99, main long-polling', value: percentile(withMainMs, 99), baselineName: 'no main process p99',
      baseline: percentile(aloneMs, 99), unit: 'ms', better: 'lower', target: { op: '<=', ratio: 2 }, note,
    },
    {
      caseNumber: 3, name: 'handoff push→data p99 vs the handoff floor', value: percentile(withMainMs, 99), baselineName: 'handoff floor p99',
      baseline: percentile(floorMs, 99), unit: 'ms', better: 'lower', target: { op: '<=', ratio: 1.5 },
      note: `the floor: a bare process that starts, opens the store, makes one request and exits (handoff-floor), run after each notifier; ${floorMs.length} samples`,
    },
    {
      caseNumber: 3, name: 'handoff push→data p50, main long-polling', value: percentile(withMainMs, 50), baselineName: 'no main process p50',
      baseline: percentile(aloneMs, 50), unit: 'ms', better: 'lower', note,
    },
    ...leaseHandoff,
    ...decryptionFigures(withMain, alone),
    {
      caseNumber: 3, name: 'notifier peak RSS, encrypted push (median)', value: median(notifierKb) / 1024, baselineName: 'bare node process',
      baseline: bareKb / 1024, unit: 'MiB', better: 'lower', target: { op: '<=', ratio: 1.5 },
      note: `${notifierKb.length} notifiers, each decrypting its pushed message (libolm loaded); case 6's notifiers handle a plaintext push`,
    },
  ];
}
