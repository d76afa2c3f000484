// Real processes: `todevice headless` SIGKILLs itself at each named kill point while messages arrive, is
// restarted on the same data directory, and every message reaches the main consumer exactly once.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deliveryReport, makeSender, startHeadless, startTestServer, tempDir, waitFor, waitForExactlyOnce, type TestServer } from './support';

// A fresh homeserver per test, so each test's receiver device starts with an empty queue and its own counters.
let server: TestServer;
beforeEach(async () => {
  server = await startTestServer();
});
afterEach(() => server.close());

const points = ['after-request-sent', 'after-response-before-commit', 'mid-commit', 'after-commit-before-ack', 'consumer-after-effect-before-cursor'];

describe('main process killed at a named point', () => {
  for (const point of points) {
    it(`headless: SIGKILL at ${point}, restart, every message exactly once`, async () => {
      const dataDir = tempDir('kill');
      // Register the receiver device first, without a kill point, so the sender has someone to send to.
      const first = await startHeadless(server.url, dataDir);
      first.child.kill('SIGTERM');
      await first.exited;
      const sender = await makeSender(server.url);
      const doomed = await startHeadless(server.url, dataDir, { env: { TODEVICE_KILL_AT: `${point}:2`, TODEVICE_KILL_PROCESS: 'main' } });
      const sent = await sender.traffic.sendToDevice(30);
      expect(sent.ok).toBe(true);
      const death = await doomed.exited;
      expect(death.signal).toBe('SIGKILL');

      const restarted = await startHeadless(server.url, dataDir);
      try {
        await sender.traffic.sendToDevice(10);
        const report = await waitForExactlyOnce(server, dataDir);
        expect(report).toMatchObject({ accepted: 40, queued: 0, distinctTags: 40, duplicates: 0, handledRows: 40 });
      } finally {
        restarted.child.kill('SIGTERM');
        await restarted.exited;
      }
    });
  }

  it('headless: SIGKILL at a random moment under load, restart, every message exactly once', async () => {
    const dataDir = tempDir('random-kill');
    const first = await startHeadless(server.url, dataDir);
    const sender = await makeSender(server.url);
    const sending = sender.traffic.sendToDevice(200);
    await new Promise((resolve) => setTimeout(resolve, 150));
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
  });
});

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
      await waitFor(async () => (await deliveryReport(server, dataDir)).queued === 0, 20_000, () => 'queue not drained');
      await new Promise((resolve) => setTimeout(resolve, 500));
      const report = await deliveryReport(server, dataDir);
      expect(report.accepted).toBe(40);
      expect(report.distinctTags).toBeLessThan(40);
    } finally {
      restarted.child.kill('SIGTERM');
      await restarted.exited;
    }
  });
});
