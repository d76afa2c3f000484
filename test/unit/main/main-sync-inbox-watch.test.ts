// The main process handles rows another process appended (a notifier's commit) without waiting for its full
// consume pass: a cheap poll of the inbox's last seq starts the consumer as soon as rows appear, and the poll
// looks again soon after every commit another process makes (the store-change hints).
import { describe, expect, it } from 'vitest';
import { startMainSync } from '../../../src/main/host/main-sync';
import { summarizeHandled } from '../../../src/store/handled';
import { appendToInbox } from '../../../src/store/inbox';
import { startFixture } from '../engine/homeserver-fixture';
import { reopen, tempStore } from '../store/temp-store';

async function until(condition: () => boolean, boundMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${boundMs} ms: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Three rows a notifier appends while main long-polls are handled by main within 10 s. */
async function notifierRowsHandled(inboxWatchIntervalMs: number | undefined): Promise<void> {
  const fixture = await startFixture();
  const store = tempStore();
  const { receiver } = fixture;
  const account = { homeserverUrl: fixture.url, userId: receiver.userId, deviceId: receiver.deviceId, accessToken: receiver.client.accessToken ?? '' };
  // The full pass is pushed out of the test's reach: only the watch can hand these rows to main in time.
  let requests = 0;
  const sync = startMainSync({
    store,
    account,
    strategy: 'explicit-lease',
    timeline: false,
    consumePassIntervalMs: 600_000,
    ...(inboxWatchIntervalMs === undefined ? {} : { inboxWatchIntervalMs }),
    tuning: { longPollTimeoutMs: 30_000 },
    log: () => undefined,
    onEvent: (event) => (requests += event.kind === 'request' ? 1 : 0),
  });
  try {
    // Main's first sync commits the stream's first token (and consumes after it); from its second request on it
    // long-polls an empty queue, so it commits nothing and would not look at the inbox by itself.
    await until(() => requests >= 2, 10_000, () => `main made ${requests} requests`);
    const notifier = reopen(store);
    const events = [1, 2, 3].map((n) => ({ type: 'org.todevice.demo', sender: '@s:localhost', content: { tag: `s0-${n}`, sent_at_ms: Date.now() } }));
    notifier.immediate(() => appendToInbox(notifier, events, { receivedAtMs: Date.now(), process: 'notifier', pid: 2, batchSince: null, batchNextBatch: 'n1' }));
    await until(() => summarizeHandled(store, 'main').rows === 3, 10_000, () => `main handled ${summarizeHandled(store, 'main').rows} of 3`);
    expect(summarizeHandled(store, 'main').rows).toBe(3);
  } finally {
    await sync.stop();
  }
}

describe('main sync inbox watch', () => {
  it("main sync: rows a notifier appended are handled by main's inbox watch, long before the next full consume pass", async () => {
    await notifierRowsHandled(undefined);
  });

  it("main sync: with the watch's own period out of reach too, the notifier's commit alone wakes it (store-change hints)", async () => {
    await notifierRowsHandled(600_000);
  });
});
