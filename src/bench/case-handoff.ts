/**
 * Case 3, notifier handoff: from a push (the moment the notifier process is spawned, as the push gateway does)
 * to the notifier holding its to-device data (its notification report, built from the inbox row the pushed
 * event's tag names; a report with `dataMissing` fails the bench) while the main sync process sits in a 30 s
 * long poll holding the lease, against the same with no main process running.
 *
 * Both conditions run the real processes (src/main/sync-process and src/notifier, started as the race harness
 * starts them), so process start-up is in both and the difference is the lease handoff: the notifier asks for
 * the lease through the database and the long-polling holder must give it up (DESIGN.md §4.4) instead of the
 * notifier waiting out the long poll. With main running, main commits the to-device message before the push
 * (as on a phone, the key arrives first); without it the notifier fetches the message itself.
 *
 * The two conditions alternate in rounds (alone, with main; then with main, alone; ...), each round on a fresh
 * device, and the percentiles are taken over the samples of all rounds, so a disturbance of the shared machine
 * lands on both conditions rather than on one.
 *
 * Runtime: node.
 */
import path from 'node:path';
import { findInboxRowsByTag } from '../store/inbox';
import type { ClientStore } from '../store/open-store';
import { PAYLOAD_EVENT_TYPE, PAYLOAD_TAG_FIELD } from '../shared/demo-protocol';
import { MatrixClient } from '../engine/matrix-client';
import { realSleep } from '../engine/timing';
import { benchContent, type BenchWorld } from './bench-world';
import type { BenchSizes, Figure, Progress } from './bench-types';
import type { BenchProcesses } from './bench-processes';
import { percentile } from './stats';

const MAIN_SETTLE_MS = 300;

async function waitForTag(store: ClientStore, tag: string, boundMs: number): Promise<void> {
  for (let waitedMs = 0; waitedMs < boundMs; waitedMs += 10) {
    if (findInboxRowsByTag(store, tag).length > 0) return;
    await realSleep(10);
  }
  throw new Error(`bench: ${tag} did not reach the inbox within ${boundMs} ms`);
}

async function handoffSamples(
  world: BenchWorld,
  count: number,
  processes: BenchProcesses,
  withMain: boolean,
  round: number,
): Promise<number[]> {
  const deviceId = `${withMain ? 'HANDOFF-MAIN' : 'HANDOFF-ALONE'}-${round}`;
  const account = await world.device(deviceId);
  const dir = path.join(world.dir, deviceId);
  const store = processes.prepareDataDir(dir, account);
  const recipient = new MatrixClient({ baseUrl: account.homeserverUrl, accessToken: account.accessToken });
  const sender = await world.sender(`bench-${deviceId.toLowerCase()}-sender`);
  const room = await recipient.createRoom({ name: 'bench handoff' });
  if (!room.ok) throw new Error(`bench: createRoom: ${JSON.stringify(room.error)}`);
  const main = withMain ? processes.startMain(dir) : undefined;
  const samples: number[] = [];
  try {
    if (main !== undefined) await realSleep(1000);
    for (let i = 0; i < count; i += 1) {
      // The demo payload the notification is built from, as the demo sender sends it (src/shared/demo-protocol.ts).
      const content = { ...benchContent(i), tag: `${deviceId}-${i}`, text: `bench payload ${i}` };
      const sent = await sender.client.sendToDevice(PAYLOAD_EVENT_TYPE, `${deviceId}-${i}`, { [world.recipientUserId]: { [deviceId]: content } });
      if (!sent.ok) throw new Error(`bench: handoff send: ${JSON.stringify(sent.error)}`);
      if (main !== undefined) {
        await waitForTag(store, content.tag, 10_000);
        await realSleep(MAIN_SETTLE_MS);
      }
      const event = await recipient.sendRoomEvent(room.value.roomId, 'm.room.message', `push-${deviceId}-${i}`, {
        msgtype: 'm.text', body: 'bench push', [PAYLOAD_TAG_FIELD]: content.tag,
      });
      if (!event.ok) throw new Error(`bench: room event: ${JSON.stringify(event.error)}`);
      const run = await processes.runNotifier(dir, { eventId: event.value.eventId, roomId: room.value.roomId });
      if (run.notification.dataMissing) throw new Error(`bench: notifier ${i} (${deviceId}) did not hold its to-device data`);
      samples.push(run.pushToNotificationMs);
    }
  } finally {
    if (main !== undefined) await processes.stopMain(main);
    store.close();
  }
  return samples;
}

export async function runHandoffCase(world: BenchWorld, sizes: BenchSizes, processes: BenchProcesses, progress: Progress): Promise<Figure[]> {
  const perRound = Math.max(1, Math.round(sizes.handoffSamples / sizes.rounds));
  const alone: number[] = [];
  const withMain: number[] = [];
  for (let round = 0; round < sizes.rounds; round += 1) {
    const order = round % 2 === 0 ? [false, true] : [true, false];
    for (const mainRunning of order) {
      progress(`case 3: round ${round + 1} of ${sizes.rounds}: ${perRound} notifier runs ${mainRunning ? 'while main long-polls' : 'with no main process'}`);
      (mainRunning ? withMain : alone).push(...(await handoffSamples(world, perRound, processes, mainRunning, round)));
    }
  }
  const note = `${withMain.length} real notifier processes per condition, ${sizes.rounds} alternated rounds`;
  return [
    {
      caseNumber: 3, name: 'handoff push→data p99, main long-polling', value: percentile(withMain, 99), baselineName: 'no main process p99',
      baseline: percentile(alone, 99), unit: 'ms', better: 'lower', target: { op: '<=', ratio: 2 }, note,
    },
    {
      caseNumber: 3, name: 'handoff push→data p50, main long-polling', value: percentile(withMain, 50), baselineName: 'no main process p50',
      baseline: percentile(alone, 50), unit: 'ms', better: 'lower', note,
    },
  ];
}
