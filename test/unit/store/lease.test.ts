import { describe, expect, it } from 'vitest';
import {
  clearLeaseWanted,
  holdsLease,
  listLeaseWanters,
  markLeaseWanted,
  readLease,
  releaseLease,
  renewLease,
  tryAcquireLease,
} from '../../../src/store/lease';
import { reopen, tempStore } from './temp-store';

const key = 'to-device';

describe('lease', () => {
  it('lease: a free lease is taken at generation 1', () => {
    const store = tempStore();
    const result = tryAcquireLease(store, { key, holder: 'main', durationMs: 1000, nowMs: 0 });
    expect(result).toEqual({ acquired: true, generation: 1, generationChanged: true, expiresAtMs: 1000 });
  });

  it('lease: the holder extends its own lease without a generation bump', () => {
    const store = tempStore();
    tryAcquireLease(store, { key, holder: 'main', durationMs: 1000, nowMs: 0 });
    const again = tryAcquireLease(store, { key, holder: 'main', durationMs: 1000, nowMs: 500, knownGeneration: 1 });
    expect(again).toEqual({ acquired: true, generation: 1, generationChanged: false, expiresAtMs: 1500 });
  });

  it('lease: another process cannot take a live lease and learns who holds it', () => {
    const store = tempStore();
    tryAcquireLease(store, { key, holder: 'main', durationMs: 1000, nowMs: 0 });
    const other = reopen(store);
    const result = tryAcquireLease(other, { key, holder: 'notifier', durationMs: 1000, nowMs: 999 });
    expect(result).toEqual({ acquired: false, holder: 'main', expiresAtMs: 1000, generation: 1 });
  });

  it('lease: an expired lease is taken over and the generation bumps', () => {
    const store = tempStore();
    tryAcquireLease(store, { key, holder: 'main', durationMs: 1000, nowMs: 0 });
    const taken = tryAcquireLease(store, { key, holder: 'notifier', durationMs: 1000, nowMs: 1000 });
    expect(taken).toMatchObject({ acquired: true, generation: 2, generationChanged: true });
    expect(holdsLease(store, { key, holder: 'main', generation: 1 })).toBe(false);
    expect(holdsLease(store, { key, holder: 'notifier', generation: 2 })).toBe(true);
  });

  it('lease: the old holder retaking after someone else held it sees generationChanged', () => {
    const store = tempStore();
    tryAcquireLease(store, { key, holder: 'main', durationMs: 1000, nowMs: 0 });
    tryAcquireLease(store, { key, holder: 'notifier', durationMs: 1000, nowMs: 2000 });
    releaseLease(store, { key, holder: 'notifier', generation: 2 });
    const back = tryAcquireLease(store, { key, holder: 'main', durationMs: 1000, nowMs: 2001, knownGeneration: 1 });
    expect(back).toMatchObject({ acquired: true, generation: 3, generationChanged: true });
  });

  it('lease: release frees the lease at once, and the releaser retaking keeps the generation', () => {
    const store = tempStore();
    tryAcquireLease(store, { key, holder: 'main', durationMs: 60_000, nowMs: 0 });
    expect(releaseLease(store, { key, holder: 'main', generation: 1 })).toBe(true);
    expect(readLease(store, key)).toMatchObject({ holder: 'main', expiresAtMs: 0, generation: 1 });
    const again = tryAcquireLease(store, { key, holder: 'main', durationMs: 1000, nowMs: 10, knownGeneration: 1 });
    expect(again).toMatchObject({ acquired: true, generation: 1, generationChanged: false });
  });

  it('lease: renew extends only a lease still held at the same generation', () => {
    const store = tempStore();
    tryAcquireLease(store, { key, holder: 'main', durationMs: 1000, nowMs: 0 });
    expect(renewLease(store, { key, holder: 'main', generation: 1, durationMs: 1000, nowMs: 900 })).toBe(true);
    expect(readLease(store, key)?.expiresAtMs).toBe(1900);
    tryAcquireLease(store, { key, holder: 'notifier', durationMs: 1000, nowMs: 5000 });
    expect(renewLease(store, { key, holder: 'main', generation: 1, durationMs: 1000, nowMs: 5001 })).toBe(false);
    expect(releaseLease(store, { key, holder: 'main', generation: 1 })).toBe(false);
    expect(readLease(store, key)?.holder).toBe('notifier');
  });

  it('lease: a live lease of a holder known to be gone is taken at once, with a generation bump that fences it', () => {
    const store = tempStore();
    tryAcquireLease(store, { key, holder: 'notifier:41', durationMs: 3000, nowMs: 0 });
    const asked: string[] = [];
    const holderGone = (holder: string): boolean => {
      asked.push(holder);
      return true;
    };
    const taken = tryAcquireLease(reopen(store), { key, holder: 'main:7', durationMs: 3000, nowMs: 10, holderGone });
    expect(taken).toEqual({ acquired: true, generation: 2, generationChanged: true, expiresAtMs: 3010, takenFromGoneHolder: 'notifier:41' });
    expect(asked).toEqual(['notifier:41']);
    expect(holdsLease(store, { key, holder: 'notifier:41', generation: 1 })).toBe(false);
    expect(renewLease(store, { key, holder: 'notifier:41', generation: 1, durationMs: 3000, nowMs: 20 })).toBe(false);
  });

  it('lease: a live lease of a holder still alive is not taken, whatever holderGone is asked', () => {
    const store = tempStore();
    tryAcquireLease(store, { key, holder: 'notifier:41', durationMs: 3000, nowMs: 0 });
    const refused = tryAcquireLease(store, { key, holder: 'main:7', durationMs: 3000, nowMs: 10, holderGone: () => false });
    expect(refused).toEqual({ acquired: false, holder: 'notifier:41', expiresAtMs: 3000, generation: 1 });
    expect(holdsLease(store, { key, holder: 'notifier:41', generation: 1 })).toBe(true);
  });

  it('lease: two waiters that saw the same gone holder: one takes the lease, the other sees the new holder', () => {
    const store = tempStore();
    tryAcquireLease(store, { key, holder: 'notifier:41', durationMs: 3000, nowMs: 0 });
    const other = reopen(store);
    // The second waiter's judgement runs while the first takes over: it judged a holder that is no longer there.
    const slow = tryAcquireLease(other, {
      key,
      holder: 'notifier:42',
      durationMs: 3000,
      nowMs: 10,
      holderGone: (holder) => {
        if (holder === 'notifier:41') tryAcquireLease(store, { key, holder: 'main:7', durationMs: 3000, nowMs: 10, holderGone: () => true });
        return holder === 'notifier:41';
      },
    });
    expect(slow).toEqual({ acquired: false, holder: 'main:7', expiresAtMs: 3010, generation: 2 });
    expect(readLease(store, key)).toMatchObject({ holder: 'main:7', generation: 2 });
  });

  it('lease: wanted rows are visible to the holder until cleared, and stale ones are ignored', () => {
    const store = tempStore();
    markLeaseWanted(store, { key, wanter: 'notifier', nowMs: 100 });
    expect(listLeaseWanters(store, { key, except: 'main', freshSinceMs: 50 })).toEqual([
      { wanter: 'notifier', wantedAtMs: 100 },
    ]);
    expect(listLeaseWanters(store, { key, except: 'notifier', freshSinceMs: 50 })).toEqual([]);
    expect(listLeaseWanters(store, { key, except: 'main', freshSinceMs: 101 })).toEqual([]);
    clearLeaseWanted(store, { key, wanter: 'notifier' });
    expect(listLeaseWanters(store, { key, except: 'main', freshSinceMs: 0 })).toEqual([]);
  });
});
