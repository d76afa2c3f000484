// The lease keeper's view of waiters and holders: a waiter whose process is gone does not make the holder give way,
// and only an unexpired lease of another live process counts as held by someone else.
import { describe, expect, it } from 'vitest';
import { LeaseKeeper } from '../../../src/engine/lease-keeper';
import { markLeaseWanted, readLease } from '../../../src/store/lease';
import type { ClientStore } from '../../../src/store/open-store';
import { reopen, tempStore } from '../store/temp-store';

function keeper(store: ClientStore, nowMs: () => number, gone: ReadonlySet<string>): LeaseKeeper {
  return new LeaseKeeper({
    store,
    clock: { nowMs },
    sleep: async () => undefined,
    key: 'to-device',
    holder: 'main:100',
    durationMs: 3000,
    pollIntervalMs: 25,
    holderGone: (name) => gone.has(name),
    onChange: () => undefined,
  });
}

describe('lease keeper', () => {
  it('lease keeper: a fresh wanted row of a live process preempts the holder; the same row of a dead process does not', () => {
    const nowMs = 10_000;
    const store = tempStore();
    const gone = new Set<string>();
    const main = keeper(store, () => nowMs, gone);
    expect(main.take().acquired).toBe(true);
    markLeaseWanted(reopen(store), { key: 'to-device', wanter: 'notifier:200', nowMs });
    expect(main.othersWant()).toBe(true);
    expect(main.check()).toBe('preempted');
    gone.add('notifier:200'); // killed while it waited: its row stays fresh for the freshness window
    expect(main.othersWant()).toBe(false);
    expect(main.check()).toBe('keep');
    markLeaseWanted(reopen(store), { key: 'to-device', wanter: 'notifier:300', nowMs });
    expect(main.check()).toBe('preempted');
  });

  it('lease keeper: held by another live process only while that holder is unexpired and its process not gone', () => {
    let nowMs = 10_000;
    const store = tempStore();
    const gone = new Set<string>();
    const main = keeper(store, () => nowMs, gone);
    const notifier = new LeaseKeeper({
      store: reopen(store), clock: { nowMs: () => nowMs }, sleep: async () => undefined, key: 'to-device', holder: 'notifier:200',
      durationMs: 3000, pollIntervalMs: 25, holderGone: (name) => gone.has(name), onChange: () => undefined,
    });
    expect(notifier.heldByAnotherLiveProcess()).toBe(false); // nobody ever held it
    expect(main.take().acquired).toBe(true);
    expect(notifier.heldByAnotherLiveProcess()).toBe(true);
    expect(notifier.otherLiveHolder()).toBe('main:100'); // named, so a notifier can tell a main holder from another notifier
    expect(main.heldByAnotherLiveProcess()).toBe(false); // its own lease is not someone else's
    expect(main.otherLiveHolder()).toBeUndefined();
    gone.add('main:100');
    expect(notifier.heldByAnotherLiveProcess()).toBe(false); // killed holding it
    expect(notifier.otherLiveHolder()).toBeUndefined();
    gone.clear();
    nowMs += 3000;
    expect(notifier.heldByAnotherLiveProcess()).toBe(false); // expired (a stalled holder)
    nowMs -= 1000;
    main.release('done');
    expect(notifier.heldByAnotherLiveProcess()).toBe(false); // released
  });

  it('lease keeper: a waiter stops waiting as soon as it no longer needs the lease, without taking it and without leaving its wish behind', async () => {
    let nowMs = 10_000;
    const store = tempStore();
    const main = keeper(store, () => nowMs, new Set());
    expect(main.take().acquired).toBe(true);
    let attempts = 0;
    const notifier = new LeaseKeeper({
      store: reopen(store), clock: { nowMs: () => nowMs }, key: 'to-device', holder: 'notifier:200', durationMs: 3000, pollIntervalMs: 25,
      sleep: async (ms) => {
        nowMs += ms;
      },
      onChange: () => undefined,
    });
    // The need goes away at the third look (say, the holder committed the key the waiter was after).
    const result = await notifier.acquireWithin(2000, undefined, () => (attempts += 1) >= 3);
    expect(result).toMatchObject({ acquired: false, holder: 'main:100' });
    expect(attempts).toBe(3);
    expect(nowMs).toBe(10_000 + 3 * 25); // not the whole 2 s
    expect(main.othersWant()).toBe(false);
    // Without the predicate the same wait runs to its bound.
    const bounded = await notifier.acquireWithin(200);
    expect(bounded.acquired).toBe(false);
    expect(nowMs).toBeGreaterThanOrEqual(10_000 + 3 * 25 + 200);
  });

  it('lease keeper: a waiter that is not ready yet announces its wish at once but takes the lease only once it is ready', async () => {
    let nowMs = 10_000;
    const store = tempStore();
    const main = keeper(store, () => nowMs, new Set());
    expect(main.take().acquired).toBe(true);
    let markReady: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (markReady = resolve));
    let polls = 0;
    const notifier = new LeaseKeeper({
      store: reopen(store), clock: { nowMs: () => nowMs }, key: 'to-device', holder: 'notifier:200', durationMs: 3000, pollIntervalMs: 25,
      sleep: async (ms) => {
        nowMs += ms;
        polls += 1;
        if (polls === 2) {
          // The holder saw the wish and gave the lease up; the waiter, still not ready, must leave it free.
          expect(main.check()).toBe('preempted');
          main.release('preempted by a waiter');
        }
        if (polls === 4) {
          expect(readLease(store, 'to-device')).toMatchObject({ holder: 'main:100', expiresAtMs: 0 });
          markReady();
          await ready;
        }
      },
      onChange: () => undefined,
    });
    const result = await notifier.acquireWithin(2000, undefined, undefined, ready);
    expect(result).toMatchObject({ acquired: true, generation: 2 });
    expect(polls).toBe(4); // taken at the first look after it became ready
    expect(main.othersWant()).toBe(false); // its wish is cleared once it holds the lease

    // A waiter that never gets ready takes nothing and says who holds the lease.
    const never = new LeaseKeeper({
      store: reopen(store), clock: { nowMs: () => nowMs }, key: 'to-device', holder: 'notifier:300', durationMs: 3000, pollIntervalMs: 25,
      sleep: async (ms) => {
        nowMs += ms;
      },
      onChange: () => undefined,
    });
    notifier.release('done');
    const refused = await never.acquireWithin(200, undefined, undefined, new Promise(() => undefined));
    expect(refused).toMatchObject({ acquired: false, holder: 'notifier:200' });
    expect(readLease(store, 'to-device')).toMatchObject({ holder: 'notifier:200', expiresAtMs: 0 });
  });
});
