// Real processes: a notifier that meets a backlog syncs a bounded part of it when the pushed event needs nothing
// from it, syncs on while the pushed event's room key has not arrived, and leaves the rest to the main process,
// which then delivers everything exactly once.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NOTIFIER_BATCHES_PER_PASS } from '../../src/notifier/sync-for-push';
import {
  makeSender,
  sharedRoom,
  startHeadless,
  startNotifier,
  startTestServer,
  suspendOutsideWriteLock,
  tempDir,
  waitFor,
  waitForKeysPublished,
  waitForLongPoll,
  waitForExactlyOnce,
  notifierReports,
  type NotifierReport,
  type RunningProcess,
  type TestServer,
} from './support';

let server: TestServer;
const running: RunningProcess[] = [];
beforeEach(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  for (const process of running.splice(0)) {
    process.child.kill('SIGCONT');
    process.child.kill('SIGTERM');
    await process.exited;
  }
  await server.close();
});

const reports = notifierReports;

async function finished(notifier: RunningProcess): Promise<NotifierReport[]> {
  await waitFor(() => reports(notifier).some((r) => r.kind === 'finished'), 60_000, () => JSON.stringify(notifier.lines) + notifier.stderr.join('\n'));
  return reports(notifier);
}

describe('notifier and a backlog', () => {
  it('notifier: a plaintext push over a backlog syncs one bounded pass; an encrypted one syncs on to its key; main delivers the rest exactly once', async () => {
    const dataDir = tempDir('backlog');
    const main = await startHeadless(server.url, dataDir);
    running.push(main);
    const sender = await makeSender(server.url);
    const roomId = await sharedRoom(server.url, sender, dataDir);
    await waitForKeysPublished(dataDir);
    await waitForLongPoll(dataDir, main.pid);
    // Main is stopped so the notifiers are the ones that sync.
    await suspendOutsideWriteLock(main, dataDir);
    const passEvents = NOTIFIER_BATCHES_PER_PASS * 100;
    expect((await sender.traffic.sendToDevice(passEvents + 100)).ok).toBe(true);
    const plain = await sender.client.sendRoomEvent(roomId, 'm.room.message', 'plain-push', { msgtype: 'm.text', body: 'plain over a backlog' });
    if (!plain.ok) throw new Error('send failed');
    const first = startNotifier(dataDir, plain.value.eventId, roomId);
    running.push(first);
    const firstReports = await finished(first);
    expect(firstReports.find((r) => r.kind === 'notification')).toMatchObject({ body: 'plain over a backlog', dataMissing: false, outcome: 'plain' });
    expect(firstReports.find((r) => r.kind === 'finished')).toMatchObject({ outcome: 'batch-limit', committedEvents: passEvents });

    // 100 left from before, a pass's worth more, then the room key: it lies beyond the first pass.
    expect((await sender.traffic.sendToDevice(passEvents)).ok).toBe(true);
    const encrypted = await sender.traffic.sendRoomMessage(roomId, 'encrypted behind a backlog');
    if (!encrypted.ok) throw new Error('send failed');
    const second = startNotifier(dataDir, encrypted.value.eventId, roomId);
    running.push(second);
    const secondReports = await finished(second);
    expect(secondReports.find((r) => r.kind === 'notification')).toMatchObject({ body: 'encrypted behind a backlog', dataMissing: false, outcome: 'decrypted' });
    expect(secondReports.find((r) => r.kind === 'finished')).toMatchObject({ outcome: 'caught-up', committedEvents: passEvents + 101 });

    main.child.kill('SIGCONT');
    const report = await waitForExactlyOnce(server, dataDir, 60_000);
    expect(report).toMatchObject({ accepted: 2 * passEvents + 101, distinctTags: 2 * passEvents + 101, duplicates: 0 });
  }, 240_000);
});
