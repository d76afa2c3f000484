/**
 * Long-poll wake-ups for room-side changes, keyed by user: a room event in a room the user is in (or was just
 * removed from), the user's account data, receipts and typing in those rooms.
 *
 * Runtime: node (homeserver only).
 *
 * Guarantees:
 * - A watcher's signal aborts only through `notify` for its own user (or `stop`), so a sync that asked only for
 *   to-device messages never watches here and is never woken by room traffic (device-waiters.ts covers it).
 * - No lost wake-up: a sync checks "anything new since my positions?" and calls `watch` in the same
 *   synchronous turn, and writers call `notify` right after their transaction committed, also synchronously.
 * - `stop` removes the watcher, so finished or abandoned polls leave nothing behind. `isWatched` lets a writer
 *   skip working out whom to notify when nobody waits at all, which keeps the message path as cheap as before.
 */

export interface UserWatch {
  /** Aborts when something changed for the user. */
  signal: AbortSignal;
  stop(): void;
}

export class UserWaiters {
  private readonly watchers = new Map<string, Set<AbortController>>();

  watch(userId: string): UserWatch {
    const controller = new AbortController();
    const set = this.watchers.get(userId) ?? new Set();
    set.add(controller);
    this.watchers.set(userId, set);
    const stop = (): void => {
      const current = this.watchers.get(userId);
      current?.delete(controller);
      if (current?.size === 0) this.watchers.delete(userId);
    };
    return { signal: controller.signal, stop };
  }

  /** Wakes every poll of the user; call after the change committed. */
  notify(userId: string): void {
    const set = this.watchers.get(userId);
    if (set === undefined) return;
    this.watchers.delete(userId);
    for (const controller of set) controller.abort();
  }

  /** Whether any poll of any user is watching: when none is, writers need not work out whom to notify. */
  isEmpty(): boolean {
    return this.watchers.size === 0;
  }

  /** Number of pending watchers, for tests that check cleanup. */
  size(): number {
    let total = 0;
    for (const set of this.watchers.values()) total += set.size;
    return total;
  }
}
