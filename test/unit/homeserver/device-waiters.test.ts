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
});
