// Group commit for sendToDevice: requests submitted in one turn share one transaction, each in its own savepoint,
// are answered only after it committed, in submission order; a waiting long poll takes the whole group in it.
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/homeserver/db';
import { DeviceWaiters } from '../../../src/homeserver/device-waiters';
import { ToDeviceGroupCommit } from '../../../src/homeserver/to-device-group-commit';
import { ToDeviceQueue, type QueuedMessage } from '../../../src/homeserver/to-device-queue';

function setup(dbPath = ':memory:') {
  const { db } = openDatabase(dbPath, 'hs');
  db.prepare("INSERT INTO users (user_id, password_hash, created_ts) VALUES ('@a:hs', 'x', 0)").run();
  db.prepare("INSERT INTO devices (user_id, device_id, created_ts, last_seen_ts) VALUES ('@a:hs', 'D1', 0, 0)").run();
  const queue = new ToDeviceQueue(db);
  const waiters = new DeviceWaiters();
  // Every request grouped, however far apart: what a burst sees.
  const group = new ToDeviceGroupCommit(db, queue, waiters, { burstGapMs: Number.POSITIVE_INFINITY });
  const message = (n: number): QueuedMessage => ({ userId: '@a:hs', deviceId: 'D1', type: 't', sender: '@s:hs', content: { n } });
  const put = (n: number) => (): QueuedMessage[] => [message(n)];
  const queued = () => queue.inspect('@a:hs', 'D1')?.queued.map((row) => row.content.n);
  return { db, queue, waiters, group, message, put, queued };
}

describe('to-device group commit', () => {
  it('group commit: requests submitted in one turn commit in one transaction, in submission order, and resolve after it', async () => {
    const { queue, group, put, queued } = setup();
    const order: number[] = [];
    const answers = [1, 2, 3, 4, 5].map((n) => group.submit(put(n)).then(() => order.push(n)));
    // Nothing is written before the group's turn: an answer never comes before its commit.
    expect(queued()).toEqual([]);
    await Promise.all(answers);
    expect(queued()).toEqual([1, 2, 3, 4, 5]);
    expect(order).toEqual([1, 2, 3, 4, 5]);
    expect(group.stats).toEqual({ groups: 1, requests: 5 });
    expect(queue.inspect('@a:hs', 'D1')?.accepted).toBe(5);
    await group.submit(put(6));
    expect(group.stats).toEqual({ groups: 2, requests: 6 });
  });

  it('group commit: a request that comes alone, long after the last commit, commits at once, without waiting a turn', async () => {
    const { db, queue, waiters, put, queued } = setup();
    // A burst window of a minute: the second request below is inside it however loaded the machine is.
    const group = new ToDeviceGroupCommit(db, queue, waiters, { burstGapMs: 60_000 });
    const answered = group.submit(put(1));
    // Written within the submit itself: a live message pays no extra turn.
    expect(queued()).toEqual([1]);
    await answered;
    // Within the window after that commit, requests are a burst: they wait for the turn that gathers the group.
    const burst = [group.submit(put(2)), group.submit(put(3))];
    expect(queued()).toEqual([1]);
    await Promise.all(burst);
    expect(queued()).toEqual([1, 2, 3]);
    expect(group.stats).toEqual({ groups: 2, requests: 3 });
  });

  it('group commit: the burst window counts from the end of the last commit, so requests read right after a slow commit are grouped', async () => {
    const { db, queue, waiters, put, queued } = setup();
    const burstGapMs = 250;
    const group = new ToDeviceGroupCommit(db, queue, waiters, { burstGapMs });
    // A commit that takes twice the window (a slow fsync on a loaded disk), measured as it runs.
    const slow = (): QueuedMessage[] => {
      const startedMs = performance.now();
      while (performance.now() - startedMs < 2 * burstGapMs) {
        // busy: the synchronous commit holds the thread, as a waiting fsync does
      }
      return put(1)();
    };
    await group.submit(slow);
    // These come right after that commit ended, though long after it started: a burst, one turn, one group.
    const burst = [group.submit(put(2)), group.submit(put(3))];
    expect(queued()).toEqual([1]);
    await Promise.all(burst);
    expect(queued()).toEqual([1, 2, 3]);
    expect(group.stats).toEqual({ groups: 2, requests: 3 });
  });

  it('group commit: a request whose work throws fails alone and leaves nothing; the others of its group commit', async () => {
    const { queue, group, message, put, queued } = setup();
    // Writes (as a request's transaction record is written) and then throws: the write is undone with it.
    const failing = (): QueuedMessage[] => {
      queue.enqueue([message(99)]);
      throw new Error('bad request found while writing');
    };
    const results = await Promise.allSettled([group.submit(put(1)), group.submit(failing), group.submit(put(2))]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toEqual(new Error('bad request found while writing'));
    expect(queued()).toEqual([1, 2]);
    expect(group.stats).toEqual({ groups: 1, requests: 2 });
  });

  it('group commit: a request alone in its group whose work throws gets its error and leaves nothing', async () => {
    const { db, queue, waiters, message, queued } = setup();
    const group = new ToDeviceGroupCommit(db, queue, waiters, { burstGapMs: 0 });
    const failing = (): QueuedMessage[] => {
      queue.enqueue([message(99)]);
      throw new Error('bad request found while writing');
    };
    await expect(group.submit(failing)).rejects.toThrow('bad request found while writing');
    expect(queued()).toEqual([]);
    expect(db.inTransaction).toBe(false);
    await group.submit(() => [message(1)]);
    expect(queued()).toEqual([1]);
    expect(group.stats).toEqual({ groups: 1, requests: 1 });
  });

  it('group commit: a failed commit fails every request of the group and writes nothing', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todevice-group-commit-'));
    const { db, group, put, queued } = setup(path.join(dir, 'hs.db'));
    // Another connection holds the write lock, and this one does not wait for it: BEGIN IMMEDIATE fails.
    const other = new Database(path.join(dir, 'hs.db'));
    other.exec('BEGIN IMMEDIATE');
    db.pragma('busy_timeout = 0');
    const results = await Promise.allSettled([group.submit(put(1)), group.submit(put(2))]);
    other.exec('ROLLBACK');
    other.close();
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/locked|busy/i);
    expect(queued()).toEqual([]);
    expect(group.stats.groups).toBe(0);
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('group commit: a waiting long poll takes the whole group in its transaction, once, and is woken after the commit', async () => {
    const { queue, waiters, group, put } = setup();
    let preparedTimes = 0;
    const poll = waiters.waitToTake('@a:hs', 'D1', 10_000, new AbortController().signal, () => {
      preparedTimes += 1;
      return queue.takeBatch('@a:hs', 'D1', 0, 10).events.map((event) => event.content.n);
    });
    await Promise.all([group.submit(put(1)), group.submit(put(2)), group.submit(put(3))]);
    expect(await poll).toEqual({ outcome: 'notified', prepared: [1, 2, 3] });
    expect(preparedTimes).toBe(1);
  });
});
