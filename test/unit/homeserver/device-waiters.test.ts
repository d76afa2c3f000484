import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { DeviceWaiters } from '../../../src/homeserver/device-waiters';

describe('device waiters', () => {
  it('waiters: notify wakes only the waiters of that user and device', async () => {
    const waiters = new DeviceWaiters();
    const mine = waiters.wait('@a:hs', 'D1', 10_000, new AbortController().signal);
    const other = waiters.wait('@a:hs', 'D2', 50, new AbortController().signal);
    waiters.notify('@a:hs', 'D1');
    expect(await mine).toBe('notified');
    expect(await other).toBe('timeout');
    expect(waiters.size()).toBe(0);
  });

  it('waiters: key changes wake only the waiters that asked for them, of the users named; to-device ones keep waiting', async () => {
    const waiters = new DeviceWaiters();
    const signal = new AbortController().signal;
    const both = waiters.waitToTake('@a:hs', 'D1', 10_000, signal, undefined, { toDevice: true, keyChanges: true });
    const keysOnly = waiters.waitToTake('@a:hs', 'D2', 10_000, signal, () => 'never', { toDevice: false, keyChanges: true });
    const toDeviceOnly = waiters.waitToTake('@a:hs', 'D3', 50, signal, undefined);
    const otherUser = waiters.waitToTake('@b:hs', 'D1', 50, signal, undefined, { toDevice: true, keyChanges: true });
    // A to-device message neither wakes nor prepares a waiter that did not ask for to-device.
    waiters.prepare('@a:hs', 'D2');
    expect(waiters.notify('@a:hs', 'D2')).toBe(0);
    expect(waiters.notifyKeyChanges(new Set(['@a:hs']))).toBe(2);
    expect(await both).toEqual({ outcome: 'notified', prepared: undefined });
    expect(await keysOnly).toEqual({ outcome: 'notified', prepared: undefined });
    expect((await toDeviceOnly).outcome).toBe('timeout');
    expect((await otherUser).outcome).toBe('timeout');
    expect(waiters.size()).toBe(0);
  });

  it('waiters: an aborted wait resolves at once and leaves no waiter behind', async () => {
    const waiters = new DeviceWaiters();
    const controller = new AbortController();
    const pending = waiters.wait('@a:hs', 'D1', 10_000, controller.signal);
    expect(waiters.size()).toBe(1);
    controller.abort();
    expect(await pending).toBe('aborted');
    expect(waiters.size()).toBe(0);
    expect(await waiters.wait('@a:hs', 'D1', 10_000, controller.signal)).toBe('aborted');
  });

  it('waiters: user and device cannot be confused by a separator in either', async () => {
    const waiters = new DeviceWaiters();
    const pending = waiters.wait('@a:hs|x', 'y', 50, new AbortController().signal);
    waiters.notify('@a:hs', 'x|y');
    expect(await pending).toBe('timeout');
  });

  it('waiters: work prepared inside the enqueueing transaction is handed over by notify, and only by notify', async () => {
    const waiters = new DeviceWaiters();
    const woken = waiters.waitToTake('@a:hs', 'D1', 10_000, new AbortController().signal, () => 'batch');
    const timedOut = waiters.waitToTake('@a:hs', 'D2', 30, new AbortController().signal, () => 'batch');
    waiters.prepare('@a:hs', 'D2');
    waiters.prepare('@a:hs', 'D1');
    waiters.notify('@a:hs', 'D1');
    expect(await woken).toEqual({ outcome: 'notified', prepared: 'batch' });
    // Prepared but never notified (its transaction did not commit as far as the waiter knows): nothing handed over.
    expect(await timedOut).toEqual({ outcome: 'timeout', prepared: undefined });
  });

  it('waiters: in one SQLite transaction, a throwing waiter rolls back only its savepoint and the sender commits; a rolled-back send hands nothing over', async () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE rows (what TEXT)');
    const insert = db.prepare('INSERT INTO rows VALUES (?)');
    const waiters = new DeviceWaiters();
    const good = waiters.waitToTake('@a:hs', 'D1', 10_000, new AbortController().signal, () =>
      db.transaction(() => { insert.run('good waiter'); return 'good'; })(),
    );
    const bad = waiters.waitToTake('@a:hs', 'D1', 10_000, new AbortController().signal, () =>
      db.transaction(() => { insert.run('bad waiter'); throw new Error('boom'); })(),
    );
    db.transaction(() => {
      insert.run('message');
      waiters.prepare('@a:hs', 'D1');
    }).immediate();
    waiters.notify('@a:hs', 'D1');
    expect(await good).toEqual({ outcome: 'notified', prepared: 'good' });
    expect(await bad).toEqual({ outcome: 'notified', prepared: undefined });
    expect(db.prepare('SELECT what FROM rows ORDER BY rowid').pluck().all()).toEqual(['message', 'good waiter']);

    const later = waiters.waitToTake('@a:hs', 'D1', 10_000, new AbortController().signal, () =>
      db.transaction(() => { insert.run('later waiter'); return 'later'; })(),
    );
    expect(() =>
      db.transaction(() => {
        insert.run('rolled back');
        waiters.prepare('@a:hs', 'D1');
        throw new Error('the send fails after its waiters prepared');
      }).immediate(),
    ).toThrow('the send fails');
    waiters.discardPrepared('@a:hs', 'D1');
    expect(db.prepare('SELECT count(*) FROM rows').pluck().get()).toBe(2);
    waiters.notify('@a:hs', 'D1');
    expect(await later).toEqual({ outcome: 'notified', prepared: undefined });
    db.close();
  });
});
