import { describe, expect, it } from 'vitest';
import { createKillPoints, type KillPointName } from '../../../src/engine/kill-points';
import { consumeInbox } from '../../../src/engine/consumer';
import { listInbox } from '../../../src/store/inbox';
import { readCursor } from '../../../src/store/cursors';
import { readToken } from '../../../src/store/token';
import { tempStore } from '../store/temp-store';
import { makeEngine } from './engine-fixture';
import { startFixture } from './homeserver-fixture';

class SimulatedCrash extends Error {}

const crashAt = (point: KillPointName) =>
  createKillPoints({ name: point, nth: 1 }, 'main', (name) => {
    throw new SimulatedCrash(name);
  });

describe('crashes at named kill points', () => {
  for (const point of ['after-request-sent', 'after-response-before-commit', 'mid-commit', 'after-commit-before-ack'] as const) {
    it(`sync: a crash at ${point} loses nothing and duplicates nothing after restart (explicit-cas)`, async () => {
      const fx = await startFixture();
      await fx.send(0, 3);
      const store = tempStore();
      const doomed = makeEngine(store, fx.receiver.client, { processName: 'main', strategy: 'explicit-cas', killPoints: crashAt(point) });
      await expect(doomed.engine.syncUntilCaughtUp({ leaseWaitMs: 0 })).rejects.toBeInstanceOf(SimulatedCrash);
      const restarted = makeEngine(store, fx.receiver.client, { processName: 'main', strategy: 'explicit-cas', pid: 2 });
      await restarted.engine.syncUntilCaughtUp({ leaseWaitMs: 0 });
      await restarted.engine.syncUntilCaughtUp({ leaseWaitMs: 0 });
      expect(listInbox(store).map((row) => row.content.n)).toEqual([0, 1, 2]);
      expect((await fx.admin.inspectDevice(fx.receiver.userId, fx.receiver.deviceId)).queued).toEqual([]);
    });
  }

  it('naive: a crash at mid-commit leaves the token ahead of the events and the batch is lost (F3)', async () => {
    const fx = await startFixture();
    await fx.send(0, 3);
    const store = tempStore();
    const doomed = makeEngine(store, fx.receiver.client, { processName: 'main', strategy: 'explicit-naive', killPoints: crashAt('mid-commit') });
    await expect(doomed.engine.syncUntilCaughtUp({ leaseWaitMs: 0 })).rejects.toBeInstanceOf(SimulatedCrash);
    expect(readToken(store).since).not.toBeNull();
    const restarted = makeEngine(store, fx.receiver.client, { processName: 'main', strategy: 'explicit-naive', pid: 2 });
    await restarted.engine.syncUntilCaughtUp({ leaseWaitMs: 0 });
    expect(listInbox(store)).toEqual([]);
    expect((await fx.admin.inspectDevice(fx.receiver.userId, fx.receiver.deviceId)).queued).toEqual([]);
  });

  it('consumer: a crash after the effect and before the cursor rolls the effect back (F17)', () => {
    const store = tempStore();
    store.db.exec('CREATE TABLE shown (n INTEGER)');
    store.db
      .prepare("INSERT INTO inbox (type, sender, content, received_at_ms, fetched_by_process, fetched_by_pid, batch_next_batch) VALUES ('m.test', '@a:hs', '{\"n\":1}', 0, 'main', 1, 't')")
      .run();
    const handler = (row: { content: Record<string, unknown> }, db: typeof store.db) => {
      db.prepare('INSERT INTO shown (n) VALUES (?)').run(row.content.n);
    };
    const input = { store, consumer: 'main', handler, strategy: 'explicit-lease' as const, processName: 'main' };
    expect(() => consumeInbox({ ...input, killPoints: crashAt('consumer-after-effect-before-cursor') })).toThrow(SimulatedCrash);
    expect(readCursor(store, 'main')).toBe(0);
    expect(consumeInbox(input)).toEqual({ handled: 1, skipped: 0, skippedByWindow: 0, cursor: 1 });
    expect(store.db.prepare('SELECT n FROM shown').all()).toEqual([{ n: 1 }]);
  });
});
