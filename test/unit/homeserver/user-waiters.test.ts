import { describe, expect, it } from 'vitest';
import { UserWaiters } from '../../../src/homeserver/user-waiters';

describe('user waiters', () => {
  it('user waiters: notify aborts only that user\'s watches and forgets them', () => {
    const waiters = new UserWaiters();
    const mine = waiters.watch('@a:hs');
    const alsoMine = waiters.watch('@a:hs');
    const other = waiters.watch('@b:hs');
    expect(waiters.isEmpty()).toBe(false);
    waiters.notify('@a:hs');
    expect([mine.signal.aborted, alsoMine.signal.aborted, other.signal.aborted]).toEqual([true, true, false]);
    expect(waiters.size()).toBe(1);
    other.stop();
    expect(waiters.isEmpty()).toBe(true);
    waiters.notify('@b:hs');
    expect(other.signal.aborted).toBe(false);
  });
});
