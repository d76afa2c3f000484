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
 * - A waiter may bring `onQueued`, work done inside the transaction that queues a message for its device: a
 *   long poll takes its batch there, so the message and the batch that delivers it commit together, in one
 *   fsync instead of two. The enqueuer calls `prepare` inside its transaction and `notify` after the commit;
 *   only `notify` hands the prepared result over. If the transaction fails, the enqueuer calls
 *   `discardPrepared` and the waiters keep waiting with nothing prepared. `onQueued` must put its writes in a
 *   nested transaction (a savepoint) so a throw rolls back only its own writes; `prepare` swallows that error
 *   (one poll's failure never fails the sender) and that waiter, once woken, does the work itself.
 * - A waiter says what wakes it: to-device messages for its device (the default), device key changes of users
 *   it may care about (`notifyKeyChanges`, for polls that report device lists), or both. A to-device-only poll
 *   is never woken by a key change, so the guarantee above about unrelated changes holds for it unchanged. The
 *   same no-lost-wake-up argument applies: the key upload calls `notifyKeyChanges` after its commit, and a poll
 *   checks for pending changes in the synchronous turn in which it starts waiting.
 */

export type WaitOutcome = 'notified' | 'timeout' | 'aborted';

/** How a wait ended; `prepared` is what the waiter's `onQueued` returned in the transaction that woke it. */
export interface WaitResult<T> {
  outcome: WaitOutcome;
  prepared: T | undefined;
}

/** What wakes a waiter; see the module header. */
export interface WakeOn {
  toDevice: boolean;
  keyChanges: boolean;
}

const TO_DEVICE_ONLY: WakeOn = { toDevice: true, keyChanges: false };

interface Waiter {
  userId: string;
  finish: (outcome: WaitOutcome) => void;
  onQueued: (() => unknown) | undefined;
  prepared: { value: unknown } | undefined;
  wakeOn: WakeOn;
}

export class DeviceWaiters {
  private readonly waiters = new Map<string, Set<Waiter>>();

  /** Resolves on the first of: a notify for this device, `timeoutMs` elapsing, or `signal` aborting. */
  async wait(userId: string, deviceId: string, timeoutMs: number, signal: AbortSignal): Promise<WaitOutcome> {
    return (await this.waitToTake(userId, deviceId, timeoutMs, signal, undefined)).outcome;
  }

  /**
   * As `wait`, and `onQueued` runs inside the transaction that queues a message for this device. `wakeOn` says
   * whether to-device messages, key changes or both end the wait (default: to-device messages only).
   */
  waitToTake<T>(
    userId: string,
    deviceId: string,
    timeoutMs: number,
    signal: AbortSignal,
    onQueued: (() => T) | undefined,
    wakeOn: WakeOn = TO_DEVICE_ONLY,
  ): Promise<WaitResult<T>> {
    if (signal.aborted) return Promise.resolve({ outcome: 'aborted', prepared: undefined });
    const key = waiterKey(userId, deviceId);
    return new Promise((resolve) => {
      const finish = (outcome: WaitOutcome): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        const set = this.waiters.get(key);
        set?.delete(waiter);
        if (set?.size === 0) this.waiters.delete(key);
        const prepared = outcome === 'notified' ? (waiter.prepared?.value as T | undefined) : undefined;
        resolve({ outcome, prepared });
      };
      const waiter: Waiter = { userId, finish, onQueued, prepared: undefined, wakeOn };
      const onAbort = (): void => finish('aborted');
      const timer = setTimeout(() => finish('timeout'), timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      const set = this.waiters.get(key) ?? new Set();
      set.add(waiter);
      this.waiters.set(key, set);
    });
  }

  /** Inside the enqueueing transaction, once per device that got messages: runs each waiter's `onQueued`. */
  prepare(userId: string, deviceId: string): void {
    for (const waiter of this.waiters.get(waiterKey(userId, deviceId)) ?? []) {
      waiter.prepared = undefined;
      if (waiter.onQueued === undefined || !waiter.wakeOn.toDevice) continue;
      try {
        waiter.prepared = { value: waiter.onQueued() };
      } catch {
        // Confined to the waiter's savepoint; its request meets the error again when it does the work itself.
      }
    }
  }

  /** The enqueueing transaction rolled back: whatever was prepared in it never happened. */
  discardPrepared(userId: string, deviceId: string): void {
    for (const waiter of this.waiters.get(waiterKey(userId, deviceId)) ?? []) waiter.prepared = undefined;
  }

  /**
   * After the enqueueing transaction committed: wakes every waiter of the device with what was prepared. Returns
   * how many were woken; their callers resume in the microtasks that follow.
   */
  notify(userId: string, deviceId: string): number {
    const set = this.waiters.get(waiterKey(userId, deviceId));
    if (set === undefined) return 0;
    const woken = [...set].filter((waiter) => waiter.wakeOn.toDevice);
    for (const waiter of woken) waiter.finish('notified');
    return woken.length;
  }

  /**
   * After a key upload committed a device key change: wakes every waiter that asked for key changes and whose
   * user is in `userIds` (the users who share a room with the uploader, and the uploader). Returns how many.
   */
  notifyKeyChanges(userIds: ReadonlySet<string>): number {
    const woken: Waiter[] = [];
    for (const set of this.waiters.values()) {
      for (const waiter of set) if (waiter.wakeOn.keyChanges && userIds.has(waiter.userId)) woken.push(waiter);
    }
    for (const waiter of woken) waiter.finish('notified');
    return woken.length;
  }

  /** How many waiters of this device a to-device message would wake now: its long polls in flight. */
  waitingForToDevice(userId: string, deviceId: string): number {
    let count = 0;
    for (const waiter of this.waiters.get(waiterKey(userId, deviceId)) ?? []) if (waiter.wakeOn.toDevice) count += 1;
    return count;
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
