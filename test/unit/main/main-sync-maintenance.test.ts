// The main process runs the store's maintenance: with the real sync loop and the `main` consumer against the
// reference homeserver, what main and a notifier run handled leaves the inbox (down to the newest rows the inbox
// limit keeps), and what main handled stays on record.
import { describe, expect, it } from 'vitest';
import { startMainSync } from '../../../src/main/host/main-sync';
import { consume } from '../../../src/store/consume';
import { summarizeHandled } from '../../../src/store/handled';
import { inboxStats } from '../../../src/store/inbox';
import { writeRetentionPolicy } from '../../../src/store/retention-policy';
import { readStorageStats } from '../../../src/store/storage-stats';
import { startFixture } from '../engine/homeserver-fixture';
import { tempStore } from '../store/temp-store';

async function until(condition: () => boolean, boundMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${boundMs} ms: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('main sync maintenance', () => {
  it('main sync: rows main and the notifier passed leave the inbox while it runs, down to the newest the inbox limit keeps', async () => {
    const fixture = await startFixture();
    const store = tempStore();
    writeRetentionPolicy(store, { inbox: { maxRows: 20, maxAgeMs: null } });
    const { receiver } = fixture;
    const account = { homeserverUrl: fixture.url, userId: receiver.userId, deviceId: receiver.deviceId, accessToken: receiver.client.accessToken ?? '' };
    const sync = startMainSync({ store, account, strategy: 'explicit-lease', timeline: false, tuning: { longPollTimeoutMs: 1000 }, log: () => undefined });
    try {
      await fixture.send(0, 120);
      const describe = (): string => `handled ${summarizeHandled(store, 'main').rows}, inbox ${JSON.stringify(inboxStats(store))}`;
      await until(() => summarizeHandled(store, 'main').rows === 120, 30_000, describe);
      // The notifier's cursor holds the rows it has not run for yet; a notifier run passes them.
      consume(store, 'notifier', () => undefined);
      await until(() => inboxStats(store).count === 20, 30_000, describe);
      expect(inboxStats(store)).toMatchObject({ count: 20, minSeq: 101, lastSeq: 120 });
      expect(readStorageStats(store).removed.inboxRows).toBe(100);
      expect(readStorageStats(store).lastCompactionAtMs).not.toBeNull();
    } finally {
      await sync.stop();
    }
  });
});
