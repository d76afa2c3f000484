import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NO_STORE_CHANGES, RECHECK_MS, wakeOnChange, watchStoreChanges, type StoreChanges } from '../../../src/engine/store-changes';
import { realSleep, type Sleep } from '../../../src/engine/timing';
import { markLeaseWanted } from '../../../src/store/lease';
import { reopen, tempStore } from '../store/temp-store';

const watches: StoreChanges[] = [];
afterEach(() => {
  for (const watch of watches.splice(0)) watch.close();
});

function watch(storePath: string): StoreChanges {
  const changes = watchStoreChanges(storePath);
  watches.push(changes);
  return changes;
}

/** A sleep with no timer of its own: it ends only when its signal aborts, so only a wake can end it. */
const untilWoken: Sleep = (_ms, signal) => new Promise((resolve) => signal?.addEventListener('abort', () => resolve(), { once: true }));

/**
 * Resolves once a watch of its own on `dir` has seen a change of `name`, and one more turn has passed: by then
 * the watch under test, which receives the same events in the same turn, has called its listeners if it would.
 */
function seen(dir: string, name: string): { done: Promise<void>; close: () => void } {
  const observer = fs.watch(dir, { persistent: false });
  const done = new Promise<void>((resolve) => {
    observer.on('change', (_kind, changed) => {
      if (String(changed) === name) setImmediate(() => setImmediate(resolve));
    });
  });
  return { done, close: () => observer.close() };
}

describe('store changes', () => {
  it("a poll's sleep ends at another connection's commit, long before its own timeout", async () => {
    const store = tempStore();
    const other = reopen(store);
    const sleep = wakeOnChange(realSleep, watch(store.path));
    // Ten minutes, far beyond the test's timeout: only the commit below can end it in time.
    const sleeping = sleep(600_000);
    markLeaseWanted(other, { key: 'to-device', wanter: 'notifier:2', nowMs: Date.now() });
    await sleeping;
  });

  it('writes to other files of the directory do not wake it, and its own timeout still ends it', async () => {
    const store = tempStore();
    const dir = path.dirname(store.path);
    let woken = false;
    const sleeping = wakeOnChange(untilWoken, watch(store.path))(60_000).then(() => (woken = true));
    const observed = seen(dir, 'unrelated.log');
    fs.writeFileSync(path.join(dir, 'unrelated.log'), 'not the store');
    await observed.done;
    observed.close();
    expect(woken).toBe(false);
    markLeaseWanted(reopen(store), { key: 'to-device', wanter: 'notifier:2', nowMs: Date.now() });
    await sleeping;
    expect(woken).toBe(true);
    const timed = wakeOnChange(realSleep, watch(store.path));
    await timed(1);
  });

  it('a listener hears nothing after it unsubscribed, nor anything once the watch is closed', async () => {
    const store = tempStore();
    const other = reopen(store);
    const changes = watch(store.path);
    let calls = 0;
    const first = new Promise<void>((resolve) => {
      const unsubscribe = changes.onChange(() => {
        calls += 1;
        unsubscribe();
        resolve();
      });
    });
    markLeaseWanted(other, { key: 'to-device', wanter: 'notifier:1', nowMs: Date.now() });
    await first;
    const observed = seen(path.dirname(store.path), `${path.basename(store.path)}-wal`);
    markLeaseWanted(other, { key: 'to-device', wanter: 'notifier:9', nowMs: Date.now() });
    await observed.done;
    expect(calls).toBe(1);
    let afterClose = 0;
    changes.onChange(() => (afterClose += 1));
    changes.close();
    const again = seen(path.dirname(store.path), `${path.basename(store.path)}-wal`);
    markLeaseWanted(other, { key: 'to-device', wanter: 'notifier:10', nowMs: Date.now() });
    await again.done;
    again.close();
    observed.close();
    expect(afterClose).toBe(0);
  });

  it('while a change settles, a poll sleeps only a few milliseconds, so a commit seen before it was visible is not missed', async () => {
    const store = tempStore();
    const changes = watch(store.path);
    const asked: number[] = [];
    const recording: Sleep = async (ms) => void asked.push(ms);
    const sleep = wakeOnChange(recording, changes);
    // Asked in the turn that reports the change, as a poll woken by it would ask.
    const settlingThen = new Promise<boolean>((resolve) => {
      const unsubscribe = changes.onChange(() => {
        unsubscribe();
        resolve(changes.settling());
        void sleep(25);
      });
    });
    markLeaseWanted(reopen(store), { key: 'to-device', wanter: 'notifier:2', nowMs: Date.now() });
    expect(await settlingThen).toBe(true);
    expect(asked).toEqual([RECHECK_MS]);
  });

  it('an in-memory store has no watch: the sleep is the plain one', () => {
    expect(watchStoreChanges(':memory:')).toBe(NO_STORE_CHANGES);
    expect(wakeOnChange(realSleep, NO_STORE_CHANGES)).toBe(realSleep);
    expect(wakeOnChange(realSleep, undefined)).toBe(realSleep);
  });
});
