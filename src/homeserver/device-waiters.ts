/**
 * Long-poll waiters, keyed by (user, device), woken when a to-device message is queued for that device.
 *
 * Runtime: node (homeserver only).
 *
 * Guarantees:
 * - A waiter is woken only by `notify` for its own user and device, so a long poll is not woken by unrelated
 *   changes (another device's messages, room events), as Synapse's own tests require.
 * - No lost wake-up: callers check "anything queued after since?" and call `wait` in the same synchronous turn,
 *   and `notify` runs after the enqueueing transaction committed, also synchronously, so a message queued
 *   between the check and the wait cannot slip through (the event loop is single-threaded).
 * - Every waiter is removed when it resolves (notified, timed out or aborted), so disconnecting clients and
 *   server shutdown leave nothing behind.
 */

export type WaitOutcome = 'notified' | 'timeout' | 'aborted';

export class DeviceWaiters {
  private readonly waiters = new Map<string, Set<(outcome: WaitOutcome) => void>>();

  /** Resolves on the first of: a notify for this device, `timeoutMs` elapsing, or `signal` aborting. */
  wait(userId: string, deviceId: string, timeoutMs: number, signal: AbortSignal): Promise<WaitOutcome> {
    if (signal.aborted) return Promise.resolve('aborted');
    const key = waiterKey(userId, deviceId);
    return new Promise((resolve) => {
      const finish = (outcome: WaitOutcome): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        const set = this.waiters.get(key);
        set?.delete(finish);
        if (set?.size === 0) this.waiters.delete(key);
        resolve(outcome);
      };
      const onAbort = (): void => finish('aborted');
      const timer = setTimeout(() => finish('timeout'), timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      const set = this.waiters.get(key) ?? new Set();
      set.add(finish);
      this.waiters.set(key, set);
    });
  }

  notify(userId: string, deviceId: string): void {
    const set = this.waiters.get(waiterKey(userId, deviceId));
    if (set === undefined) return;
    for (const finish of [...set]) finish('notified');
  }

  /** Number of pending waiters, for tests that check cleanup. */
  size(): number {
    let total = 0;
    for (const set of this.waiters.values()) total += set.size;
    return total;
  }
}

function waiterKey(userId: string, deviceId: string): string {
  return JSON.stringify([userId, deviceId]);
}
