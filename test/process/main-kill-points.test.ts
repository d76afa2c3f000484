// Real processes: `todevice headless` SIGKILLs itself at each named kill point while messages arrive, is
// restarted on the same data directory, and every message reaches the main consumer exactly once. Every kill
// lands after the doomed process made progress (it committed a batch of its own first), so it interrupts a live
// stream instead of a process that had not started yet.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ENGINE_KILL_POINTS } from '../../src/engine/kill-points';
import {
  deliveryReport,
  committedRowCount,
  mainCursorAtEnd,
  makeSender,
  rowsFetchedBy,
  sharedRoom,
  spawnHeadless,
  startHeadless,
  startTestServer,
  tempDir,
  waitFor,
  waitForExactlyOnce,
  type TestServer,
} from './support';

// A fresh homeserver per test, so each test's receiver device starts with an empty queue and its own counters.
let server: TestServer;
beforeEach(async () => {
  server = await startTestServer();
});
afterEach(() => server.close());

describe('main process killed at a named point', () => {
  it('covers every kill point of the engine', () => {
    expect(ENGINE_KILL_POINTS).toEqual([
      'after-request-sent',
      'after-response-before-commit',
      'mid-commit',
      'after-commit-before-ack',
      'consumer-after-effect-before-cursor',
      'after-lease-acquired',
    ]);
  });

  for (const point of ENGINE_KILL_POINTS) {
    it(`headless: SIGKILL at ${point}, restart, every message exactly once`, async () => {
      const dataDir = tempDir('kill');
      // Register the receiver device first, without a kill point, so the sender has someone to send to.
      const first = await startHeadless(server.url, dataDir);
      first.child.kill('SIGTERM');
      await first.exited;
      const sender = await makeSender(server.url);
      const roomId = await sharedRoom(server.url, sender, dataDir);
      // A backlog the doomed process commits in its first batch: the progress every kill comes after.
      expect((await sender.traffic.sendToDevice(10)).ok).toBe(true);
      // The second hit of the point: the first one is part of that first batch (or, for the lease, of starting).
      const doomed = spawnHeadless(server.url, dataDir, { env: { TODEVICE_KILL_AT: `${point}:2`, TODEVICE_KILL_PROCESS: 'main' } });
      let accepted = 10;
      // Progress first: the doomed process committed the backlog. Only then comes the traffic whose handling
      // reaches the point a second time.
      await waitFor(() => rowsFetchedBy(dataDir, doomed.pid) > 0, 30_000, () => `no batch committed by ${doomed.pid}: ${doomed.stderr.join('\n')}`);
      if (point === 'after-lease-acquired') {
        // Main takes the lease back after a push's notifier had it: its second acquisition. The message's key is
        // withheld (nothing goes by to-device), so the notifier cannot show it from a stored key and must sync.
        const pushed = await sender.traffic.sendRoomMessage(roomId, 'take the lease', { withholdKey: true });
        expect(pushed.ok).toBe(true);
      } else {
        expect((await sender.traffic.sendToDevice(30)).ok).toBe(true);
        accepted += 30;
      }
      const death = await doomed.exited;
      expect(death.signal).toBe('SIGKILL');

      const restarted = await startHeadless(server.url, dataDir);
      try {
        await sender.traffic.sendToDevice(10);
        accepted += 10;
        const report = await waitForExactlyOnce(server, dataDir);
        expect(report).toMatchObject({ accepted, queued: 0, distinctTags: accepted, duplicates: 0, handledRows: accepted });
      } finally {
        restarted.child.kill('SIGTERM');
        await restarted.exited;
      }
    });
  }

  it('headless: SIGKILL mid-stream under load, restart, every message exactly once', () => killMidStream(server));

  it("headless against Synapse's to-device behaviour (--compat synapse): SIGKILL mid-stream, restart, every message exactly once", async () => {
    const synapseLike = await startTestServer({ compat: 'synapse' });
    try {
      await killMidStream(synapseLike);
    } finally {
      await synapseLike.close();
    }
  });
});

/** Kills main once it committed part of a 200-message stream, restarts it, and checks exactly-once delivery. */
async function killMidStream(server: TestServer): Promise<void> {
  const dataDir = tempDir('random-kill');
  const first = await startHeadless(server.url, dataDir);
  const sender = await makeSender(server.url);
  const sending = sender.traffic.sendToDevice(200);
  // Killed once it has committed part of the stream, however slowly the machine runs.
  await waitFor(() => committedRowCount(dataDir) >= 20, 30_000, () => `inbox at ${committedRowCount(dataDir)} rows`);
  first.child.kill('SIGKILL');
  await first.exited;
  expect((await sending).ok).toBe(true);
  const restarted = await startHeadless(server.url, dataDir);
  try {
    const report = await waitForExactlyOnce(server, dataDir);
    expect(report).toMatchObject({ accepted: 200, queued: 0, distinctTags: 200, duplicates: 0, handledRows: 200 });
  } finally {
    restarted.child.kill('SIGTERM');
    await restarted.exited;
  }
}

describe('the same kill with the naive strategy (the oracle sees the loss)', () => {
  it('headless (explicit-naive): SIGKILL at mid-commit acknowledges a batch that never became durable (F3)', async () => {
    const dataDir = tempDir('naive-kill');
    const first = await startHeadless(server.url, dataDir, { strategy: 'explicit-naive' });
    first.child.kill('SIGTERM');
    await first.exited;
    const sender = await makeSender(server.url);
    const doomed = await startHeadless(server.url, dataDir, {
      strategy: 'explicit-naive',
      env: { TODEVICE_KILL_AT: 'mid-commit:2', TODEVICE_KILL_PROCESS: 'main' },
    });
    await sender.traffic.sendToDevice(30);
    expect((await doomed.exited).signal).toBe('SIGKILL');
    const restarted = await startHeadless(server.url, dataDir, { strategy: 'explicit-naive' });
    try {
      await sender.traffic.sendToDevice(10);
      // Everything the server accepted was acknowledged (deleted), and main has handled all it ever will.
      await waitFor(async () => (await deliveryReport(server, dataDir)).queued === 0, 20_000, () => 'queue not drained');
      await waitFor(() => mainCursorAtEnd(dataDir), 20_000, () => 'main did not consume its inbox');
      const report = await deliveryReport(server, dataDir);
      expect(report.accepted).toBe(40);
      expect(report.distinctTags).toBeLessThan(40);
    } finally {
      restarted.child.kill('SIGTERM');
      await restarted.exited;
    }
  });
});
